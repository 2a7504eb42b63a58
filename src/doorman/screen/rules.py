"""Hand-written rules that fire only when an *intent* meets a *target*.

A keyword list blocks "please ignore the typo" and misses "d1sregard what you were told". These
rules run on the canonical view from :mod:`doorman.screen.normalize` (already folded, lower-case,
spaced letters joined) and each demands a verb of intent next to its object: overriding *the
previous instructions*, revealing *your system prompt*, becoming *an unrestricted persona*,
speaking *as the system* through spoofed role tokens. Each rule carries a weight in [0, 1]; a
text's rule score is the largest weight matched plus a little for every further family matched.

This module is the rule *content*; :mod:`doorman.screen.rule` is how one rule is searched and
:mod:`doorman.screen.matching` decides which rules run on which part of a text.
"""

from __future__ import annotations

from doorman.screen.rule import Rule, near_rule, rule

_S = r"[\W_]*"  # separator: spaces, punctuation, or nothing (after spaced-letter collapse)
_GAP = r"(?:[\W_]+[\w'-]+){0,3}[\W_]*"  # up to three filler words
_rule = rule


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
        rf"(?:start|begin)(?:s|ning|ing)?{_S}(?:your{_S}(?:answer|response|reply){_S})?with{_S}"
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
    near_rule(  # r"(?:^|\s)(?:assistant|ai|model)\s*:.{0,400}?(?:^|\s)(?:user|human)\s*:"
        "fake_turns",
        "role_spoof",
        0.5,
        r"(?:^|\s)(?:assistant|ai|model)\s*:",
        r"(?:^|\s)(?:user|human)\s*:",
        within=400,
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
    "begin_with_you_are": (_w("start begin starts begins starting beginning"), _w("you my i")),
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
