"""Hand-written rules that fire only when an *intent* meets a *target*.

A keyword list blocks "please ignore the typo" and misses "d1sregard what you were told". These
rules run on the canonical view from :mod:`doorman.screen.normalize` (already folded, lower-case,
spaced letters joined) and each demands a verb of intent next to its object: overriding *the
previous instructions*, revealing *your system prompt*, becoming *an unrestricted persona*,
speaking *as the system* through spoofed role tokens. Each rule carries a weight in [0, 1]; a
text's rule score is the largest weight matched plus a little for every further family matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_S = r"[\W_]*"  # separator: spaces, punctuation, or nothing (after spaced-letter collapse)
_GAP = r"(?:[\W_]+[\w'-]+){0,3}[\W_]*"  # up to three filler words


def _alt(words: str) -> str:
    return "(?:" + "|".join(w.replace(" ", _S) for w in words.split("|")) + ")"


_OVERRIDE_VERB = _alt(
    "ignore|ignoring|disregard|disregarding|forget|forgetting|override|overriding|bypass|"
    "skip|neglect|discard|abandon|drop|set aside|throw away|throw out|pay no attention to|"
    "do not follow|don't follow|dont follow|stop following|no longer follow|cancel|erase|"
    "delete|reset|wipe|scrap|ditch|dismiss|nevermind|never mind|unlearn|violate|break"
)
_PRIOR = _alt(
    "previous|previously|prior|above|earlier|preceding|foregoing|initial|original|old|"
    "system|developer|your|all your|all of your|all previous|all prior|all the above|"
    "all the previous|all the prior|any previous|any prior|all preceding|the above|"
    "everything above|pre-?programmed|preset|built-?in|safety|content"
)
_DIRECTIVES = _alt(
    "instructions?|instructed|directions?|directives?|rules?|prompts?|guidelines?|guardrails?|"
    "restrictions?|constraints?|polic(?:y|ies)|programming|commands?|orders?|context|"
    "training|guidance|filters?|settings|configuration|conditioning|moderation|"
    "safeguards?|limitations?|ethics|principles|protocols?"
)
_WEAK_DIRECTIVES = _alt(
    "text|messages?|content|inputs?|conversation|task|assignment|requests?|queries|responses?"
)
_REVEAL = _alt(
    "reveal|show|print|output|repeat|display|tell me|give me|share|leak|dump|spell out|"
    "write out|write down|copy|recite|return|echo|expose|disclose|provide|paste|list|"
    "translate|encode|summarize|summarise|state|read back|type out|send me|show us|see|view|"
    "read|access|know|retrieve|extract|obtain|log|check|verify|audit"
)
_SECRET_PROMPT = _alt(
    "system prompt|system message|system instructions?|initial prompt|original prompt|"
    "hidden prompt|hidden instructions?|secret prompt|secret instructions?|"
    "internal instructions?|developer prompt|developer message|developer instructions?|"
    "pre-?prompt|your initial instructions?|your original instructions?|"
    "your starting instructions?|your first instructions?|initial configuration|"
    "instructions you were given|instructions you have been given|instructions given to you|"
    "prompt you were given|your instructions|your prompt|your rules|your guidelines|"
    "your directives|your configuration|your programming|your initial|hidden rules|"
    "text above|words above|everything above|the above text|conversation above|"
    "initiali[sz]ation string|context window|your context|confidential instructions?|"
    "(?:text|words|messages?|instructions|prompt)(?: that)? you (?:were|have been|'ve been) "
    "given|you were given (?:initially|at first|at the start|before)"
)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    family: str
    weight: float
    pattern: re.Pattern[str]
    scan: re.Pattern[str] | None = None  # ``pattern`` minus its leading \b, see _scan_for

    def found(self, text: str) -> bool:
        """``pattern.search(text)``, exactly, but faster on long texts when ``scan`` is set:
        the scan visits, left to right, every position where the rest of the pattern matches,
        and the first one that is also a word boundary decides."""
        scan = self.scan
        if scan is None:
            return self.pattern.search(text) is not None
        at = self.pattern.match
        pos = 0
        while (hit := scan.search(text, pos)) is not None:
            if at(text, hit.start()):
                return True
            pos = hit.start() + 1
        return False


_MAX_SCAN_FIRST_LETTERS = 8


def _first_letters(pattern: str) -> set[str] | None:
    """The letters a match of ``pattern`` can start with: a literal letter, or the first
    letter of every top-level alternative of an opening ``(?:...)``. None when not that simple."""
    if pattern[:1].isalpha():
        return {pattern[0]}
    if not pattern.startswith("(?:"):
        return None
    letters: set[str] = set()
    depth, start = 0, 3
    for i in range(3, len(pattern)):
        ch = pattern[i]
        if pattern[i - 1] == "\\":
            continue
        if ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif ch in "|)" and depth == 0:
            first = pattern[start : start + 1]
            if not first.isalpha() or pattern[start + 1 : start + 2] in ("?", "*", "{"):
                return None
            letters.add(first)
            if ch == ")":
                return letters
            start = i + 1
    return None


def _scan_for(pattern: str) -> re.Pattern[str] | None:
    r"""Why: the regex engine cannot skip ahead for a pattern that opens with ``\b`` and tries
    it at every word boundary; without the ``\b`` it jumps between occurrences of a literal
    prefix or a few first letters (a 1,000-token prompt: ~180 -> ~3 us for a literal opening).
    With many first letters the scan is slower than the original, so those keep it."""
    if not pattern.startswith(r"\b"):
        return None
    letters = _first_letters(pattern[2:])
    if letters is None or len(letters) > _MAX_SCAN_FIRST_LETTERS:
        return None
    return re.compile(pattern[2:])


def _rule(name: str, family: str, weight: float, pattern: str) -> Rule:
    return Rule(name, family, weight, re.compile(pattern), _scan_for(pattern))


RULES: tuple[Rule, ...] = (
    # --- overriding instructions -------------------------------------------------------------
    _rule(
        "override_prior",
        "override",
        0.97,
        rf"\b{_OVERRIDE_VERB}{_GAP}\b{_PRIOR}{_GAP}\b{_DIRECTIVES}\b",
    ),
    _rule(
        "override_prior_weak",
        "override",
        0.45,
        rf"\b{_OVERRIDE_VERB}{_GAP}\b{_PRIOR}{_GAP}\b{_WEAK_DIRECTIVES}\b",
    ),
    _rule(
        "override_everything",
        "override",
        0.9,
        rf"\b{_OVERRIDE_VERB}{_S}(?:about{_S})?(?:everything|all|anything|what){_S}"
        rf"(?:that{_S})?you{_S}(?:were|have been|'ve been|was|got|had been){_S}(?:told|"
        rf"said|given|instructed|taught|programmed)",
    ),
    _rule(
        "override_everything_before",
        "override",
        0.5,
        rf"\b{_OVERRIDE_VERB}{_S}(?:about{_S})?(?:everything|all|anything){_GAP}(?:that{_S})?"
        rf"(?:before|above|previously|so far|up to now|until now)",
    ),
    _rule(
        "override_all_rules",
        "override",
        0.8,
        rf"\b{_OVERRIDE_VERB}{_S}(?:all|any|every){_S}(?:of{_S}the{_S})?(?:previous{_S})?"
        rf"(?:instructions|directions|directives|guidelines|rules you|restrictions|"
        rf"prompts|safety|filters|ethical|moral)",
    ),
    _rule(
        "override_then_do",
        "override",
        0.9,
        rf"\b{_OVERRIDE_VERB}{_S}(?:the{_S}|all{_S}|any{_S}|these{_S}|those{_S})?"
        rf"(?:instructions?|directions|rules|prompt|rest{_S}of{_S}(?:this|the)"
        rf"(?:{_S}\w+)?|everything{_S}else|the{_S}above|above|all{_S}that|that)"
        rf"{_S}(?:,|and|then|;)?{_S}(?:just{_S}|only{_S}|instead{_S}|simply{_S})?"
        rf"(?:print|say|output|write|respond|reply|repeat|return|answer|tell)\b",
    ),
    _rule(
        "override_nevermind",
        "override",
        0.55,
        rf"\b(?:nevermind|never mind|stop everything|stop){_S}(?:now{_S})?"
        rf"(?:ignore|just (?:print|say|output)|now (?:print|say))",
    ),
    _rule(
        "new_instructions",
        "override",
        0.4,
        rf"\b(?:your|the|my){_S}(?:new|updated|real|actual|true|only){_S}"
        rf"(?:instructions?|task|rules|objective|directive|purpose|goal){_S}(?:is|are|:)",
    ),
    _rule(
        "instead_say",
        "override",
        0.6,
        rf"\b(?:instead|rather){_GAP}(?:just{_S})?(?:say|print|output|write|respond with|"
        rf"reply with)\b[^.]{{0,40}}(?:pwned|hacked|haha|i have been|owned)",
    ),
    _rule("pwned_payload", "override", 0.5, r"\b(?:haha pwned|i have been pwned|pwned!)"),
    _rule(
        "from_now_on",
        "override",
        0.45,
        rf"\b(?:from{_S}now{_S}on|starting{_S}now|for{_S}the{_S}rest{_S}of{_S}"
        rf"(?:this|the){_S}conversation|henceforth){_S},?{_S}(?:you|your|ignore|act|"
        rf"respond|answer|reply|always|never|do not|don't)",
    ),
    # --- system prompt extraction ------------------------------------------------------------
    _rule("reveal_system_prompt", "extraction", 0.9, rf"\b{_REVEAL}{_GAP}{_SECRET_PROMPT}\b"),
    _rule(
        "what_is_your_prompt",
        "extraction",
        0.8,
        rf"\bwhat(?:{_S}(?:is|are|were|was)|'s|s){_S}(?:in{_S})?(?:your{_S}(?:exact{_S}|"
        rf"full{_S}|initial{_S}|original{_S}|hidden{_S}|secret{_S})?(?:system{_S})?"
        rf"(?:prompt|instructions|rules|guidelines|directives|system message)|the{_S}"
        rf"(?:exact{_S}|full{_S}|hidden{_S}|secret{_S})?(?:system{_S}prompt|system{_S}message|"
        rf"hidden{_S}(?:prompt|instructions)|secret{_S}(?:prompt|instructions)))\b",
    ),
    _rule(
        "prompt_verbatim",
        "extraction",
        0.75,
        rf"\b(?:repeat|print|output|copy|recite|write){_GAP}(?:everything|all|the text|"
        rf"the words|the content|each line|every line){_GAP}(?:above|before|prior|so far|"
        rf"verbatim|word for word)",
    ),
    _rule(
        "what_told_before",
        "extraction",
        0.75,
        rf"\bwhat{_S}(?:were|was|have){_S}you{_S}(?:been{_S})?(?:told|instructed|"
        rf"programmed|given){_GAP}(?:before|at the start|at the beginning|initially|not to)",
    ),
    _rule(
        "begin_with_you_are",
        "extraction",
        0.7,
        rf"(?:start|begin){_S}(?:your{_S}(?:answer|response|reply){_S})?with{_S}"
        rf"[\"']?(?:you are|my instructions|my system prompt|i was instructed)",
    ),
    _rule(
        "completion_trick",
        "extraction",
        0.75,
        rf"\b(?:continue|complete|finish|fill in){_GAP}[\"':]{_S}(?:i{_S}was{_S}(?:instructed|"
        rf"told|programmed)|(?:the{_S}|my{_S}|your{_S})?system{_S}prompt|my{_S}(?:initial{_S})?"
        rf"instructions|my{_S}rules|you{_S}are{_S}a)",
    ),
    _rule(
        "not_supposed_to_tell",
        "extraction",
        0.7,
        rf"\bwhat{_S}(?:are|were|have){_S}you{_S}(?:been{_S})?(?:not{_S}supposed|told{_S}not|"
        rf"instructed{_S}not|forbidden|not{_S}allowed|asked{_S}not|programmed{_S}not){_S}to{_S}"
        rf"(?:tell|say|reveal|share|disclose|talk)",
    ),
    _rule(
        "secret_in_prompt",
        "extraction",
        0.6,
        rf"\b(?:password|secret|key|passphrase|token){_S}(?:in|from|inside){_S}(?:your|the)"
        rf"{_S}(?:system{_S})?(?:prompt|instructions)",
    ),
    # --- persona hijack / jailbreak ----------------------------------------------------------
    _rule("do_anything_now", "persona", 0.97, r"\bdo anything now\b"),
    _rule(
        "dan_persona",
        "persona",
        0.85,
        rf"\b(?:you{_S}(?:are|will be|'re)|act{_S}as|pretend{_S}to{_S}be|become|called|"
        rf"named|as|play){_S}(?:a{_S}|an{_S}|the{_S})?(?:dan|stan|dude|aim|mongo tom|"
        rf"jailbreak|antigpt|anti-dan|betterdan|evil-?bot|developer mode)\b",
    ),
    _rule(
        "developer_mode",
        "persona",
        0.9,
        rf"\b(?:developer|dev|god|jailbreak|jailbroken|unrestricted|unfiltered|uncensored|"
        rf"dan|debug|sudo|admin|root|maintenance|evil|chaos)(?:{_S}mode){_S}"
        rf"(?:enabled|activated|is{_S}(?:now{_S})?(?:on|enabled|active)|output|response|"
        rf"engaged|unlocked)\b",
    ),
    _rule(
        "enable_mode",
        "persona",
        0.75,
        rf"\b(?:enable|activate|enter|switch to|turn on|unlock){_S}(?:the{_S})?"
        rf"(?:dan|jailbreak|jailbroken|god|unrestricted|unfiltered|uncensored|evil|sudo)"
        rf"{_S}mode\b",
    ),
    _rule(
        "unrestricted_persona",
        "persona",
        0.85,
        rf"\b(?:act|acting|pretend|roleplay|role-play|role play|behave|respond|answer|"
        rf"simulate|you are|you're|you will be|imagine you are|become){_S}(?:as{_S})?"
        rf"(?:now{_S})?(?:a{_S}|an{_S})?(?:completely{_S}|totally{_S}|fully{_S})?"
        rf"(?:unrestricted|unfiltered|uncensored|unbound|unconstrained|amoral|unethical|"
        rf"jailbroken|unlimited|immoral|evil|rogue|lawless|limitless|freed|liberated)\b",
    ),
    _rule(
        "free_from_rules",
        "persona",
        0.85,
        rf"\b(?:you{_S}(?:are|'re|will be|have been){_S}(?:now{_S})?(?:free{_S}from|"
        rf"freed{_S}from|no{_S}longer{_S}(?:bound|restricted|limited|constrained)|not{_S}"
        rf"(?:bound|restricted){_S}by|released{_S}from|liberated{_S}from|exempt{_S}from)|"
        rf"(?:broken|break){_S}free{_S}of|free{_S}(?:itself|yourself|himself|herself)"
        rf"{_S}from){_GAP}(?:rules|restrictions|guidelines|polic|"
        rf"constraints|limitations|filters|ethic|moral|openai|anthropic|the typical|"
        rf"confines|censorship)",
    ),
    _rule(
        "no_restrictions",
        "persona",
        0.7,
        rf"\b(?:without|no|zero|free of|not have any|don't have any|doesn't have any|"
        rf"does not have any|do not have any|ignore all){_S}(?:any{_S})?(?:ethical|moral|"
        rf"content|safety)?{_S}(?:rules{_S}or{_S}limitations|restrictions|filters|filtering|censorship|limitations|"
        rf"guidelines|boundaries|morals|ethics|principles){_GAP}(?:you|answer|respond|"
        rf"reply|character|ai|whatsoever|at all|openai|anthropic|chatgpt)",
    ),
    _rule(
        "policy_defiance",
        "persona",
        0.8,
        rf"\b(?:openai|anthropic|chatgpt|meta|google)(?:'s|s)?{_S}(?:content{_S})?"
        rf"(?:polic(?:y|ies)|guidelines|rules|restrictions|filters)"
        rf"(?:{_GAP})(?:do not|don't|no longer|doesn't|does not|won't|will not|never)"
        rf"{_S}(?:apply|matter|bind|restrict|limit)",
    ),
    _rule(
        "defy_policy",
        "persona",
        0.75,
        rf"\b(?:ignore|bypass|disregard|violate|break|circumvent|evade|not bound by|"
        rf"doesn't care about|does not care about|don't care about|never follow|"
        rf"doesn't follow|does not follow|doesn't abide|does not abide){_GAP}"
        rf"(?:openai|anthropic|content polic|safety polic|ethical guidelines|moral "
        rf"guidelines|safety guidelines|ethics|morality|guardrails)",
    ),
    _rule(
        "stay_in_character",
        "persona",
        0.3,
        rf"\b(?:stay{_S}in{_S}character|break{_S}character|remain{_S}in{_S}character|"
        rf"never{_S}refuse|cannot{_S}refuse|can't{_S}refuse|must{_S}not{_S}refuse|"
        rf"never{_S}decline|always{_S}(?:answer|comply)|will{_S}never{_S}say{_S}no)\b",
    ),
    _rule(
        "dual_response",
        "persona",
        0.7,
        r"(?:\[?(?:🔓|🔒)|\((?:🔓|🔒)|\bjailbreak\]|\bclassic\]|two (?:different )?"
        r"(?:responses|paragraphs|answers)[^.]{0,60}(?:normal|unfiltered|jailbreak|dan|"
        r"developer mode|evil|opposite))",
    ),
    _rule("jailbreak_word", "persona", 0.5, r"\bjailbr(?:eak|oken)\b"),
    _rule(
        "persona_switch",
        "persona",
        0.35,
        rf"\b(?:you{_S}are{_S}now|you're{_S}now|from{_S}now{_S}on{_S}you{_S}(?:are|will)|"
        rf"you{_S}will{_S}(?:now{_S})?(?:act|pretend|play|be|respond|answer)|act{_S}as|"
        rf"pretend{_S}(?:to{_S}be|you{_S}are)|role{_S}?play{_S}as|respond{_S}as|answer{_S}as|"
        rf"you{_S}are{_S}going{_S}to{_S}(?:act|pretend|be|play)|assume{_S}the{_S}(?:role|"
        rf"persona)|simulate)\b.{{0,80}}?(?:\b(?:named|called|known{_S}as)\b|\bwho{_S}"
        rf"(?:never|doesn't|does{_S}not|will{_S}not|won't|has{_S}no|can{_S}do{_S}anything|"
        rf"answers{_S}(?:any|every|all)|always{_S}(?:answers|complies|responds))|"
        rf"\balter{_S}ego\b|\bopposite\b)",
    ),
    _rule(
        "fiction_frame",
        "persona",
        0.3,
        rf"\b(?:hypothetical{_S}(?:story|scenario|response|world)|fictional{_S}(?:ai|world|"
        rf"universe|character|chatbot|model){_S}(?:where|that|who|in{_S}which)|alternate{_S}"
        rf"(?:universe|reality){_S}(?:where|in{_S}which)|alter{_S}ego|two{_S}(?:different{_S})?"
        rf"(?:personalities|personas|responses|answers))\b",
    ),
    # --- spoofed role tokens and chat markup ------------------------------------------------
    _rule(
        "chatml_tokens",
        "role_spoof",
        0.95,
        r"<\|\s*(?:im_start|im_end|system|endoftext|eot_id|start_header_id|end_header_id|"
        r"begin_of_text|assistant|user)\s*\|>",
    ),
    _rule("inst_tokens", "role_spoof", 0.85, r"\[/?inst\]|<</?sys>>|<\s*/?\s*s\s*>\s*\[inst"),
    _rule(
        "markdown_system_header",
        "role_spoof",
        0.9,
        r"(?:^|\s)#{2,}\s*(?:system|system prompt|system message|new instructions?|"
        r"instructions?|admin|developer|important instructions?)\s*(?::|#|$|\s(?=\w))",
    ),
    _rule(
        "xml_system_tag",
        "role_spoof",
        0.75,
        r"<\s*/?\s*(?:system|system_prompt|sys|instructions?|admin|developer|im_start)"
        r"(?:\s[^>]{0,40})?>",
    ),
    _rule(
        "bracket_system",
        "role_spoof",
        0.7,
        r"(?:\[|\{|\(|\*\*)\s*(?:system|system message|system note|admin|developer|"
        r"important|new instructions?)\s*(?:\]|\}|\)|\*\*)\s*:?",
    ),
    _rule(
        "fake_turns",
        "role_spoof",
        0.5,
        r"(?:^|\s)(?:assistant|ai|model)\s*:.{0,400}?(?:^|\s)(?:user|human)\s*:",
    ),
    _rule(
        "system_colon",
        "role_spoof",
        0.45,
        r"(?:^|[.!?\]\"]\s|\s-{2,}\s|\s\*+\s?)(?:system|sys|admin|root|developer)\s*"
        r"(?:override|message|prompt|note|update|alert)?\s*:\s*(?:you|ignore|new|the "
        r"user|from now|disregard|override|forget|reveal|print|output)",
    ),
    # --- addressed to a model reading a document (indirect) ----------------------------------
    _rule(
        "addressed_to_ai",
        "indirect",
        0.7,
        rf"\b(?:if{_S}you{_S}are{_S}(?:an?{_S})?(?:ai|llm|language{_S}model|assistant|"
        rf"chatbot|gpt|claude|bot)|(?:note|message|instructions?){_S}(?:to|for){_S}"
        rf"(?:the{_S}|any{_S})?(?:ai|llm|language{_S}model|assistant|chatbot|bot|model)s?"
        rf"|(?:ai|llm|assistant|model|chatbot|gpt)s?{_S}(?:reading|processing|"
        rf"summari[sz]ing|analy[sz]ing|parsing|browsing){_S}(?:this|the))\b",
    ),
    _rule(
        "exfil_markdown",
        "indirect",
        0.8,
        r"!\[[^\]]{0,80}\]\(\s*https?://[^)\s]{1,200}[?&][\w-]+=\s*(?:\{|\[|<|\$)",
    ),
)


_VERBS = frozenset(
    "ignore ignoring ignored disregard disregarding forget forgetting override overriding "
    "bypass skip neglect discard abandon drop set throw pay follow following cancel erase "
    "delete reset wipe scrap ditch dismiss nevermind never unlearn violate break stop".split()
)
_TARGETS = frozenset(
    "instruction instructions instructed direction directions directive directives rule rules "
    "prompt prompts guideline guidelines guardrail guardrails restriction restrictions "
    "constraint constraints policy policies programming command commands order orders context "
    "training guidance filter filters settings configuration conditioning moderation safeguard "
    "safeguards limitation limitations ethics principles protocol protocols text message "
    "messages content input inputs conversation task assignment request requests queries "
    "response responses everything all anything what told said given programmed taught "
    "before above previously".split()
)
_PROMPTISH = frozenset(
    "prompt prompts instruction instructions instructed message system rules guidelines "
    "directives configuration programming above initialization initialisation context told "
    "programmed systemprompt preprompt pre".split()
)
_PERSONA = frozenset(
    "dan stan dude aim mongo jailbreak jailbroken antigpt anti betterdan evil evilbot "
    "developer mode unrestricted unfiltered uncensored unbound unconstrained amoral unethical "
    "unlimited immoral rogue lawless limitless freed liberated free bound restricted limited "
    "constrained released exempt restrictions filters filtering censorship limitations "
    "guidelines boundaries morals ethics principles openai anthropic chatgpt policy policies "
    "character refuse decline comply answer no god sudo admin root maintenance chaos debug dev "
    "enable activate unlock enter switch turn itself yourself".split()
)


# Each rule runs only when the view's tokens meet every group (a cheap set test), or when a
# listed substring occurs (for markup that has no word tokens).
def _w(words: str) -> frozenset[str]:
    return frozenset(words.split())


_DIRECTIVE_WORDS = _w(
    "instruction instructions instructed direction directions directive directives rule rules "
    "prompt prompts guideline guidelines guardrail guardrails restriction restrictions "
    "constraint constraints policy policies programming command commands order orders context "
    "training guidance filter filters settings configuration conditioning moderation safeguard "
    "safeguards limitation limitations ethics principles protocol protocols"
)
_WEAK_WORDS = _w(
    "text message messages content input inputs conversation task assignment request requests "
    "queries response responses"
)
_SAY = _w("print say output write respond reply repeat return answer tell")
_PROMPT_TARGET = _w(
    "prompt prompts instructions systemprompt preprompt initialization initialisation "
    "guidelines directives programming rules configuration context above message"
)
_REVEAL_WORDS = _w(
    "reveal show print output repeat display tell give share leak dump spell write copy recite "
    "return echo expose disclose provide paste list translate encode summarize summarise state "
    "read type send see view access know retrieve extract obtain log check verify audit"
)
_PERSONA_NAMES = _w(
    "dan stan dude aim mongo jailbreak antigpt anti betterdan evilbot evil developer"
)
_UNRESTRICTED = _w(
    "unrestricted unfiltered uncensored unbound unconstrained amoral unethical jailbroken "
    "unlimited immoral evil rogue lawless limitless freed liberated"
)
_LIMITS = _w(
    "rules restrictions guidelines policies policy constraints limitations filters filtering "
    "ethics ethical moral morals openai anthropic typical confines censorship boundaries "
    "principles"
)
_AI_WORDS = _w(
    "ai llm language assistant chatbot gpt claude bot model models ais llms assistants bots"
)

# Each rule runs only when the view's tokens meet every group (a cheap set test), or when a
# listed substring occurs (for markup that has no word tokens).
_ANCHORS: dict[str, tuple[frozenset[str], ...]] = {
    "override_prior": (_VERBS, _DIRECTIVE_WORDS),
    "override_prior_weak": (_VERBS, _WEAK_WORDS),
    "override_everything": (_VERBS, _w("told said given instructed taught programmed")),
    "override_everything_before": (_VERBS, _w("everything all anything")),
    "override_all_rules": (_VERBS, _w("all any every")),
    "override_then_do": (_VERBS, _SAY),
    "override_nevermind": (_w("nevermind never stop"), _SAY | _w("ignore")),
    "new_instructions": (
        _w("new updated real actual true only"),
        _w("instruction instructions task rules objective directive purpose goal"),
    ),
    "instead_say": (_w("instead rather"), _SAY),
    "pwned_payload": (_w("pwned"),),
    "from_now_on": (_w("now rest henceforth"), _w("on conversation henceforth now")),
    "reveal_system_prompt": (_REVEAL_WORDS, _PROMPT_TARGET | _w("text words everything")),
    "what_is_your_prompt": (_w("what whats what's"), _PROMPT_TARGET),
    "prompt_verbatim": (
        _w("repeat print output copy recite write"),
        _w("everything all text words content line"),
    ),
    "what_told_before": (_w("what"), _w("told instructed programmed given")),
    "begin_with_you_are": (_w("start begin"), _w("you my i")),
    "completion_trick": (_w("continue complete finish fill"),),
    "not_supposed_to_tell": (_w("what"), _w("tell say reveal share disclose talk")),
    "secret_in_prompt": (_w("password secret key passphrase token"), _w("prompt instructions")),
    "do_anything_now": (_w("anything"), _w("now")),
    "dan_persona": (_PERSONA_NAMES,),
    "developer_mode": (
        _PERSONA_NAMES | _UNRESTRICTED | _w("dev god debug sudo admin root maintenance chaos"),
        _w("mode"),
        _w("enabled activated is output response engaged unlocked"),
    ),
    "enable_mode": (_w("enable activate enter switch turn unlock"), _w("mode")),
    "unrestricted_persona": (_UNRESTRICTED,),
    "free_from_rules": (
        _w(
            "free freed bound restricted limited constrained released liberated exempt break broken"
        ),
        _LIMITS | _w("all"),
    ),
    "no_restrictions": (_w("without no zero free not don't doesn't ignore"), _LIMITS),
    "policy_defiance": (
        _w("openai anthropic chatgpt meta google openai's anthropic's chatgpt's"),
        _LIMITS,
    ),
    "defy_policy": (
        _w("ignore bypass disregard violate break circumvent evade bound care follow abide"),
        _w("openai anthropic content safety ethical moral ethics morality guardrails"),
    ),
    "stay_in_character": (
        _w("stay break remain never cannot can't must always will"),
        _w("character refuse decline answer comply no"),
    ),
    "jailbreak_word": (_w("jailbreak jailbroken"),),
    "persona_switch": (
        _w("now will act pretend play respond answer going assume simulate roleplay role"),
        _w("named called known who alter opposite"),
    ),
    "fiction_frame": (_w("hypothetical fictional alternate alter two"),),
    "system_colon": (_w("system sys admin root developer"),),
    "fake_turns": (_w("assistant ai model"), _w("user human")),
    "addressed_to_ai": (_AI_WORDS,),
}
_SUBSTRING_ANCHORS: dict[str, tuple[str, ...]] = {
    "chatml_tokens": ("<|", "|>"),
    "inst_tokens": ("[inst", "[/inst", "<<sys", "<</sys"),
    "markdown_system_header": ("##",),
    "xml_system_tag": ("<",),
    "bracket_system": ("[", "{", "(", "**"),
    "dual_response": (
        "🔓",
        "🔒",
        "jailbreak]",
        "classic]",
        "two different",
        "two responses",
        "two paragraphs",
        "two answers",
        "two separate",
    ),
    "exfil_markdown": ("](",),
}
_LONG_TOKEN = 24  # joined-up words (spaced letters collapsed without gaps): run every rule

_EXTRA_FAMILY_BONUS = 0.08


@dataclass(frozen=True, slots=True)
class RuleMatch:
    score: float
    rules: tuple[str, ...]
    families: tuple[str, ...]


NO_MATCH = RuleMatch(0.0, (), ())


def _should_run(rule: Rule, text: str, words: frozenset[str] | set[str] | None) -> bool:
    subs = _SUBSTRING_ANCHORS.get(rule.name)
    if subs is not None:
        return any(map(text.__contains__, subs))
    groups = _ANCHORS.get(rule.name)
    if groups is None or words is None:
        return True
    return not any(map(words.isdisjoint, groups))


def _rule_index() -> tuple[dict[str, tuple[int, ...]], tuple[tuple[int, tuple[str, ...]], ...], tuple[int, ...]]:
    """word -> rules anchored on it (through each rule's smallest word group), the
    substring-anchored rules, and the rules with no anchor: so a short text visits only
    the rules it could trigger instead of testing every rule's anchors."""
    by_word: dict[str, list[int]] = {}
    by_substring: list[tuple[int, tuple[str, ...]]] = []
    always: list[int] = []
    for i, rule in enumerate(RULES):
        subs = _SUBSTRING_ANCHORS.get(rule.name)
        groups = _ANCHORS.get(rule.name)
        if subs is not None:
            by_substring.append((i, subs))
        elif not groups:
            always.append(i)
        else:
            for word in min(groups, key=len):
                by_word.setdefault(word, []).append(i)
    return {w: tuple(ix) for w, ix in by_word.items()}, tuple(by_substring), tuple(always)


_BY_WORD, _BY_SUBSTRING, _ALWAYS = _rule_index()
_INDEXED_WORDS = frozenset(_BY_WORD)


def _candidates(text: str, words: set[str]) -> list[Rule]:
    """Exactly the rules :func:`_should_run` accepts, in RULES order, found via the index."""
    picked = set(_ALWAYS)
    for i, subs in _BY_SUBSTRING:
        if any(map(text.__contains__, subs)):
            picked.add(i)
    for word in words & _INDEXED_WORDS:
        for i in _BY_WORD[word]:
            if i in picked:
                continue
            groups = _ANCHORS[RULES[i].name]
            if not any(map(words.isdisjoint, groups)):
                picked.add(i)
    return [RULES[i] for i in sorted(picked)]


_SENTENCE_END_RE = re.compile(r"(?<=[.!?;])\s+")
_SENTENCE_GAP_RE = re.compile(r"[.!?;]\s+")
_WORD_RE = re.compile(r"[a-z0-9']+")
WINDOW_CHARS = 800
_SHORT_TEXT = 2 * WINDOW_CHARS


def _split_sentences(text: str) -> list[str]:
    """``_SENTENCE_END_RE.split(text)`` without a lookbehind tried at every position."""
    out: list[str] = []
    last = 0
    for match in _SENTENCE_GAP_RE.finditer(text):
        out.append(text[last : match.start() + 1])
        last = match.end()
    out.append(text[last:])
    return out


def _windows(text: str) -> list[tuple[str, set[str]]]:
    """Overlapping runs of whole sentences of about WINDOW_CHARS (each sentence in two), each
    with the set of its words (tokenized once per sentence, shared by its two windows)."""
    sentences: list[str] = []
    for sentence in _split_sentences(text):
        while len(sentence) > WINDOW_CHARS:
            sentences.append(sentence[:WINDOW_CHARS])
            sentence = sentence[WINDOW_CHARS - 100 :]
        sentences.append(sentence)
    findall = _WORD_RE.findall
    windows: list[tuple[str, set[str]]] = []
    current: list[str] = []
    current_words: list[list[str]] = []
    size = 0
    for sentence in sentences:
        if current and size + len(sentence) > WINDOW_CHARS:
            windows.append((" ".join(current), set().union(*current_words)))
            current, current_words = [current[-1]], [current_words[-1]]
            size = len(current[-1])
        current.append(sentence)
        current_words.append(findall(sentence))
        size += len(sentence) + 1
    if current:
        windows.append((" ".join(current), set().union(*current_words)))
    return windows


def match_rules(text: str, tokens: list[str] | None = None) -> RuleMatch:
    """Score one canonical view. Returns :data:`NO_MATCH` when nothing fires.

    ``tokens`` (from :func:`doorman.screen.features.tokenize`) lets cheap anchor tests skip
    rules whose words are absent; without them every rule runs on the whole text. Long texts
    are searched window by window, and only windows holding a rule's anchor words.
    """
    if tokens is None or max(map(len, tokens), default=0) >= _LONG_TOKEN:
        hits = [rule for rule in RULES if rule.found(text)]
    elif len(text) <= _SHORT_TEXT:
        words = set(tokens)
        hits = [rule for rule in _candidates(text, words) if rule.found(text)]
    else:
        words = set(tokens)
        pieces: list[tuple[str, set[str]]] | None = None
        hits = []
        for rule in _candidates(text, words):
            groups = _ANCHORS.get(rule.name)
            if groups is None:
                if rule.found(text):
                    hits.append(rule)
                continue
            if pieces is None:
                pieces = _windows(text)
            for window, window_words in pieces:
                if not any(map(window_words.isdisjoint, groups)) and rule.found(window):
                    hits.append(rule)
                    break
    if not hits:
        return NO_MATCH
    families: dict[str, float] = {}
    for rule in hits:
        families[rule.family] = max(families.get(rule.family, 0.0), rule.weight)
    ordered = sorted(families.values(), reverse=True)
    score = min(1.0, ordered[0] + _EXTRA_FAMILY_BONUS * (len(ordered) - 1))
    return RuleMatch(score, tuple(r.name for r in hits), tuple(families))
