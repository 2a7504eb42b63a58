"""Input screening: prompt-injection detection, secret/PII redaction and spotlighting.

The gateway builds one :class:`InputScreener` per process and calls
:meth:`InputScreener.screen_chat` for every request::

    screener = InputScreener(settings.screening)
    verdict = screener.screen_chat(body, "openai", overrides=tier.screening)
    if verdict.blocked:
        raise verdict.error
    body = verdict.body  # redacted copy when secrets/PII were replaced
"""

from doorman.screen.detector import Detection, InjectionDetector
from doorman.screen.screener import Finding, InputScreener, ScreenVerdict
from doorman.screen.settings import ScreeningSettings, effective_settings
from doorman.screen.spotlight import wrap_untrusted

__all__ = [
    "Detection",
    "Finding",
    "InjectionDetector",
    "InputScreener",
    "ScreenVerdict",
    "ScreeningSettings",
    "effective_settings",
    "wrap_untrusted",
]
