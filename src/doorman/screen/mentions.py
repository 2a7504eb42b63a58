"""Chat-template tokens that are talked about rather than used.

``<|im_start|>system`` followed by orders is a spoofed turn; "what do ``<|im_start|>`` and
``[INST]`` mean?" is a developer question. A token is *mentioned* when what follows it is
connective prose ("and", "tokens", "mean", "go", a comma, a question mark, a closing quote or
backtick) or it sits inside backticks or quotes. When every role-token match in a view is a
mention and spoofed roles are the only rule family that fired, that family's score is damped.
"""

from __future__ import annotations

import re

from doorman.screen.rulebook import RuleMatch

DAMPED_SCORE = 0.3
_TOKEN_RE = re.compile(
    r"<\|\s*\w+\s*\|>|\[/?inst\]|<</?sys>>|<\s*/?\s*(?:system|system_prompt|sys|im_start|"
    r"instructions?|admin|developer)\s*>"
)
_MENTION_AFTER_RE = re.compile(
    r"\s*(?:$|[,?)`'\"/]|\.(?:\s|$)|(?:and|or|vs|tokens?|tags?|markers?|go|goes|mean|means|"
    r"do|does|is|are|in|after|before|for|at|to|with|from|the|a|should|work|works|come|comes|"
    r"appear|appears|around|instead)\b)"
)
_QUOTE_BEFORE = "`'\""


def _mentioned(view: str, match: re.Match[str]) -> bool:
    before = view[match.start() - 1 : match.start()] if match.start() else ""
    return (before in _QUOTE_BEFORE and before != "") or bool(
        _MENTION_AFTER_RE.match(view, match.end())
    )


def rules_score(rule: RuleMatch, view: str) -> float:
    """``rule.score``, damped when spoofed role tokens are only mentioned in prose."""
    if rule.families != ("role_spoof",) or rule.score <= DAMPED_SCORE:
        return rule.score
    matches = list(_TOKEN_RE.finditer(view, 0, 50_000))
    if matches and all(_mentioned(view, m) for m in matches):
        return DAMPED_SCORE
    return rule.score
