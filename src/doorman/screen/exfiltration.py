"""Rules for tool abuse and data exfiltration payloads (issue #13, pattern 4).

An injected instruction does its damage through the tools and renderers around the model: a
markdown image whose URL carries the conversation out, a ``curl ... | bash`` line, a destructive
SQL statement, "send the conversation to ...", a login link to put in every reply. A payload
*mentioned* (a developer asking what ``curl | sh`` does) scores low; a payload with an order to
run it, or a URL built to carry data out, scores high. Patterns run on the canonical view.
"""

from __future__ import annotations

from doorman.screen.rulebook import AnchoredRule, rule

_RUN = (
    r"(?:run|execute|exec|perform|issue|apply|invoke|call|paste|type|enter|use)\b(?:\s+"
    r"(?:this|the\s+following|these|it|that|the\s+(?:shell|terminal|sql|database)\s+tool))?"
)
_DATA_WORDS = (
    r"(?:conversation|chat|history|summary|email|secret|key|token|password|passwd|data|session|"
    r"user|prompt|memory|context|cookie|ssn|card|address|phone|name|message|transcript|creds?)"
)
_SHELL = (
    r"\b(?:curl|wget)\b[^|\n]{0,200}\|\s*(?:sudo\s+)?(?:ba|z|da|k)?sh\b|\b(?:ba)?sh\s+(?:-c\s+)?"
    r"[\"']?\$\(\s*(?:curl|wget)|\brm\s+-(?:rf|fr)\s+(?:/|~|\*|--no-preserve-root)|"
    r"\b(?:nc|ncat|netcat)\s+(?:\S+\s+){0,3}-e\b|\bpowershell(?:\.exe)?\s+-(?:enc|e|"
    r"encodedcommand)\b|authorized_keys|\bchmod\s+(?:\+x|777)\s+\S+\s*&&"
)
_SQL = (
    r"\b(?:drop\s+(?:table|database|schema)|truncate\s+table|delete\s+from\s+\w+\s*(?:where\s+"
    r"(?:1\s*=\s*1|true)|;)|alter\s+user|grant\s+all\s+privileges|union\s+(?:all\s+)?select)\b"
)

_SHELL_WORDS = "curl wget rm nc ncat netcat powershell authorized keys chmod"

RULES: tuple[AnchoredRule, ...] = (
    rule(
        "exfil_markdown_url",
        "exfiltration",
        0.9,
        rf"!?\[[^\]\n]{{0,100}}\]\(\s*https?://[^)\s]{{1,300}}[?&][\w.-]+=\s*(?:[{{<$%]|"
        rf"[^)\s&]{{0,40}}{_DATA_WORDS})",
        subs="](",
    ),
    rule(
        "exfil_image_url",
        "exfiltration",
        0.55,
        r"!\[[^\]\n]{0,100}\]\(\s*https?://[^)\s]{1,300}[?&][\w.-]+=",
        subs="![",
    ),
    rule(
        "shell_payload_run",
        "tool_abuse",
        0.9,
        rf"\b{_RUN}.{{0,60}}?(?:{_SHELL})",
        "run execute exec perform issue apply invoke call paste type enter use",
        _SHELL_WORDS,
    ),
    rule(
        "shell_payload",
        "tool_abuse",
        0.5,
        _SHELL,
        _SHELL_WORDS,
    ),
    rule(
        "sql_payload_run",
        "tool_abuse",
        0.9,
        rf"\b{_RUN}.{{0,60}}?(?:{_SQL})|(?:{_SQL}).{{0,80}}?\b(?:then\s+)?(?:report|confirm|say)"
        rf"\s+(?:success|done|it\s+worked)",
        "run execute exec perform issue apply invoke call paste type enter use report confirm say",
        "drop truncate delete alter grant union",
    ),
    rule(
        "sql_payload",
        "tool_abuse",
        0.3,
        _SQL,
        "drop truncate delete alter grant union",
    ),
    rule(
        "send_conversation",
        "exfiltration",
        0.9,
        r"\b(?:send|forward|email|e-mail|mail|post|upload|transmit|share|leak|exfiltrate|copy|"
        r"sync|submit|deliver)\b.{0,50}?\b(?:conversation|chat(?:\s+(?:history|log|"
        r"transcript))?|transcript|history|messages|context|memory|(?:user|customer|client)(?:'s)?"
        r"\s+(?:data|list|records|emails?|details|messages|information)|customer\s+(?:list|data|"
        r"records)|credentials|api\s+keys?|passwords?|session\s+tokens?|contacts|everything\s+"
        r"(?:above|so\s+far|we\s+discussed))\b.{0,60}?\b(?:to|at|into|via|using|with)\b\s*"
        r"(?:https?://|[\w.+-]+@[\w-]+\.\w+|\w+\.\w+/|[\w.-]+\.(?:com|net|org|io|dev|co|example|"
        r"info|biz|xyz)\b|the\s+(?:following|external|attacker)|this\s+"
        r"(?:address|url|endpoint|webhook)|(?:a\s+)?webhook|(?:an?\s+)?(?:external|outside|remote)"
        r"|the\s+(?:fetch|http|mail|email)\w*\s+tool)",
        "send forward email mail post upload transmit share leak exfiltrate copy sync submit "
        "deliver",
    ),
    rule(
        "tool_call_exfil",
        "exfiltration",
        0.88,
        r"\b(?:call|use|invoke|run|trigger)\s+(?:the\s+)?`?[\w.]*(?:send_?e?mail|send_?message|"
        r"http_?request|http_?post|fetch\w*|webhook|upload\w*|mail|file_?write|write_?file|"
        r"shell|exec\w*)`?\b.{0,80}?\b(?:conversation|chat|history|transcript|messages|data|"
        r"authorized_keys|passwords?|credentials|keys?|secrets?)\b",
        "call use invoke run trigger",
        "conversation chat history transcript messages data authorized_keys password passwords "
        "credentials key keys secret secrets",
    ),
    rule(
        "link_in_every_reply",
        "exfiltration",
        0.8,
        r"\b(?:end|start|begin|sign|close|finish)\s+(?:every|each|all|your)\s+(?:\w+\s+)?"
        r"(?:reply|replies|response|responses|answer|answers|message|messages)\s+with\b.{0,60}?"
        r"(?:https?://|\blink\b|\burl\b|www\.)|\b(?:include|insert|add|append|put)\b.{0,60}?"
        r"(?:\blink\b|\burl\b|https?://\S+).{0,40}?\b(?:in|to|at\s+the\s+end\s+of|into)\s+"
        r"(?:every|each|all)\s+(?:\w+\s+)?(?:reply|replies|response|responses|answer|answers|"
        r"message|messages)",
        "every each all your",
        "reply replies response responses answer answers message messages",
    ),
    rule(
        "credential_phish",
        "exfiltration",
        0.85,
        r"\b(?:tell|ask|instruct|direct|urge|get)\s+(?:the\s+)?(?:users?|readers?|customers?|"
        r"visitors?|them)\s+to\s+(?:enter|type|provide|submit|confirm|re-?enter|verify)\s+"
        r"(?:their|your)\s+(?:\w+\s+)?(?:password|credentials|card|login|pin|ssn|account)",
        "tell ask instruct direct urge get",
        "password credentials card login pin ssn account",
    ),
)
