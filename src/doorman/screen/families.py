"""The rule families added for attacks without trigger words, run together on one view.

Authority, hijack, extraction-by-synonym and framing (:mod:`doorman.screen.rules_intent`), tool
abuse and exfiltration (:mod:`doorman.screen.exfiltration`), the pretexts that wrap a payload
(:mod:`doorman.screen.rules_pretext`) and content steering in documents
(:mod:`doorman.screen.rules_documents`): one anchored rule set, scored like the core rules.
"""

from __future__ import annotations

from doorman.screen import exfiltration, rules_documents, rules_intent, rules_pretext
from doorman.screen.rulebook import RuleMatch, run_rules

RULES = rules_intent.RULES + rules_pretext.RULES + exfiltration.RULES + rules_documents.RULES


def match_families(view: str, tokens: list[str]) -> RuleMatch:
    return run_rules(RULES, view, set(tokens), tokens)
