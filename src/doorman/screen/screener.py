"""The screening stage the gateway calls on the hot path: one request body in, one verdict out.

Policies per finding type (see :mod:`doorman.screen.settings`):

- ``block``: the verdict carries a 400 error (``prompt_injection_detected`` or
  ``sensitive_data_detected``); the gateway must not call the upstream or bill anything.
- ``redact`` (secrets, PII): typed placeholders replace the values in a *copy* of the body.
- ``flag``: the request passes; ``verdict.flags`` names what was seen (header, ledger, log).
- ``shadow``: measured and listed in ``verdict.findings`` (``shadow=True``) for logs only; the
  request, its headers and the ledger are unchanged. Use it to trial a policy before enforcing.
- ``off``: not checked.

A screening failure fails closed: the verdict blocks with ``screening_unavailable`` (503).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog

from doorman.errors import BadRequest, DoormanError, PayloadTooLarge, ServiceUnavailable
from doorman.judge import GrayText
from doorman.screen.chunks import CHUNK_CHARS, chunks
from doorman.screen.detector import Detection, InjectionDetector
from doorman.screen.extract import BodyEditor, Segment, extract
from doorman.screen.offload import Offload
from doorman.screen.secrets import DataFinding, redact, scan
from doorman.screen.settings import InjectionPolicy, ScreeningSettings, effective_settings
from doorman.screen.spotlight import untrusted_span_re

log = structlog.get_logger("doorman.screen")

Wire = Literal["openai", "anthropic"]
CACHE_SIZE = 4096  # detections remembered per process
# texts this short are their own cache key (a dict hashes them in ~50 ns); longer ones are
# keyed by a digest, so the cache holds at most CACHE_SIZE * DIGEST_FROM_CHARS characters
DIGEST_FROM_CHARS = 200


@dataclass(slots=True)
class Finding:
    """One thing screening noticed. Never holds the offending text or secret value."""

    type: str  # prompt_injection | indirect_prompt_injection | secret | pii
    where: str  # e.g. "messages[1].content"
    action: str  # the policy applied: block | flag | redact | shadow
    shadow: bool = False
    score: float | None = None
    kinds: list[str] = field(default_factory=list)  # secret/PII kinds, or matched rules
    signals: list[str] = field(default_factory=list)
    layers: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "where": self.where, "action": self.action}
        if self.shadow:
            out["shadow"] = True
        if self.score is not None:
            out["score"] = round(self.score, 4)
        if self.kinds:
            out["kinds"] = self.kinds
        if self.signals:
            out["signals"] = self.signals
        if self.layers:
            out["layers"] = {k: round(v, 4) for k, v in self.layers.items()}
        return out


@dataclass(slots=True)
class ScreenVerdict:
    """The outcome of screening one request."""

    blocked: bool
    error: DoormanError | None
    flags: list[str]
    score: float  # highest prompt-injection score of any screened text (0..1)
    body: dict[str, Any]  # the body to forward: the same object unless something was redacted
    findings: list[Finding] = field(default_factory=list)
    elapsed_ms: float = 0.0
    gray: list[GrayText] = field(default_factory=list)  # for the injection judge to decide

    @property
    def header_value(self) -> str:
        """Value for an ``x-doorman-screening`` response header ("" when nothing to say)."""
        return ",".join(self.flags)

    def log_fields(self) -> dict[str, Any]:
        return {
            "blocked": self.blocked,
            "flags": self.flags,
            "score": round(self.score, 4),
            "findings": [f.to_dict() for f in self.findings],
            "elapsed_ms": round(self.elapsed_ms, 3),
        }


def _add_flag(flags: list[str], flag: str) -> None:
    if flag not in flags:
        flags.append(flag)


def _unavailable(body: dict[str, Any]) -> ScreenVerdict:
    """Screening itself failed: fail closed."""
    return ScreenVerdict(
        blocked=True,
        error=ServiceUnavailable(
            "Input screening is unavailable; the request was not sent.",
            code="screening_unavailable",
        ),
        flags=["screening_error"],
        score=0.0,
        body=body,
    )


def _log(verdict: ScreenVerdict) -> None:
    if verdict.findings:
        log.info("screening", **verdict.log_fields())


class InputScreener:
    """Screens chat requests for prompt injection, secrets and personal data.

    Build once per process (it loads the classifier artifact); :meth:`screen_chat` is
    synchronous, CPU-bound and takes around a millisecond for ordinary prompts.
    """

    def __init__(
        self,
        settings: ScreeningSettings | None = None,
        detector: InjectionDetector | None = None,
        *,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        self.settings = settings or ScreeningSettings()
        self.detector = detector or InjectionDetector()
        self._tier_cache: dict[str, ScreeningSettings] = {}
        # Chat clients resend the whole history every turn, and system prompts, tool schemas
        # and canned user prompts repeat across requests: remember recent detections by the
        # text (or a digest of it) so a repeated text costs a lookup, not a re-scan (~35 us
        # for a one-line prompt, ~8 ms for a 16 KB chunk).
        self._recent: OrderedDict[bytes | str, Detection] = OrderedDict()
        self._recent_lock = threading.Lock()  # screening threads share the cache
        self._cache_size = cache_size
        self.offload = Offload(self, self.settings.offload)

    def settings_for(self, overrides: dict[str, Any] | None) -> ScreeningSettings:
        """The global settings with a tier's raw overrides merged in (cached)."""
        if not overrides:
            return self.settings
        key = json.dumps(overrides, sort_keys=True, default=str)
        cached = self._tier_cache.get(key)
        if cached is None:
            cached = effective_settings(self.settings, overrides)
            if len(self._tier_cache) < 256:
                self._tier_cache[key] = cached
        return cached

    def detect(self, text: str) -> Detection:
        """Prompt-injection detection for one string (for tools, tests and benchmarks)."""
        return self.detector.detect(text)

    def _detect_cached(self, text: str) -> Detection:
        if self._cache_size <= 0:
            return self.detector.detect(text)
        key: bytes | str = (
            text
            if len(text) < DIGEST_FROM_CHARS
            else hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        )
        with self._recent_lock:
            hit = self._recent.get(key)
            if hit is not None:
                self._recent.move_to_end(key)
                return hit
        detection = self.detector.detect(text)
        with self._recent_lock:
            self._recent[key] = detection
            if len(self._recent) > self._cache_size:
                self._recent.popitem(last=False)
        return detection

    def evaluate(
        self, body: dict[str, Any], wire: Wire = "openai", overrides: dict[str, Any] | None = None
    ) -> ScreenVerdict:
        """The verdict for one request body, without logging it (see :meth:`screen_chat`)."""
        started = time.perf_counter()
        try:
            verdict = self._screen(body, wire, self.settings_for(overrides))
        except PayloadTooLarge as exc:
            verdict = ScreenVerdict(
                blocked=True, error=exc, flags=["screening_limit_exceeded"], score=0.0, body=body
            )
        except Exception:
            log.exception("screening_failed")
            verdict = _unavailable(body)
        verdict.elapsed_ms = (time.perf_counter() - started) * 1000
        return verdict

    def screen_chat(
        self, body: dict[str, Any], wire: Wire = "openai", overrides: dict[str, Any] | None = None
    ) -> ScreenVerdict:
        """Screen one request body here and now (synchronous, CPU-bound) and log findings."""
        verdict = self.evaluate(body, wire, overrides)
        _log(verdict)
        return verdict

    async def screen(
        self,
        body: dict[str, Any],
        wire: Wire = "openai",
        overrides: dict[str, Any] | None = None,
        *,
        size: int = 0,
    ) -> ScreenVerdict:
        """Screen on the event loop when the body is small (``size`` bytes), else on a bounded
        worker pool (see :mod:`doorman.screen.offload`). Raises 503 ``screening_busy`` when
        too many large bodies are already waiting."""
        if not self.offload.wanted(size):
            return self.screen_chat(body, wire, overrides)
        started = time.perf_counter()
        try:
            verdict = await self.offload.evaluate(body, wire, overrides)
        except DoormanError:
            raise
        except Exception:
            log.exception("screening_failed")
            verdict = _unavailable(body)
        verdict.elapsed_ms = (time.perf_counter() - started) * 1000  # waiting included
        _log(verdict)
        return verdict

    async def aclose(self) -> None:
        """Stop the screening workers, if any were started."""
        await asyncio.to_thread(self.offload.close)

    # -- internals ---------------------------------------------------------------------------

    def _detect_long(self, text: str) -> Detection:
        """Detection over the whole of ``text``: texts longer than a chunk are screened chunk
        by chunk (overlapping, so a sentence cut at one edge is whole in the next) and the most
        suspicious chunk decides. Each chunk's work is bounded, so the total is linear in the
        text, and a payload after any amount of padding is seen."""
        if len(text) <= CHUNK_CHARS:
            return self._detect_cached(text)
        best: Detection | None = None
        matched: list[str] = []
        signals: list[str] = []
        for chunk in chunks(text):
            det = self._detect_cached(chunk)
            matched.extend(m for m in det.matched if m not in matched)
            signals.extend(s for s in det.signals if s not in signals)
            if best is None or det.score > best.score:
                best = Detection(
                    det.score, det.rules, det.similarity, det.classifier, view=det.view
                )
            else:
                best.rules = max(best.rules, det.rules)
        assert best is not None
        best.matched, best.signals = matched, signals
        return best

    def _split_untrusted(self, segs: list[Segment], cfg: ScreeningSettings) -> list[Segment]:
        """User text wrapped in untrusted tags is screened as indirect, the rest as direct."""
        if not cfg.untrusted_tags:
            return segs
        pattern = untrusted_span_re(tuple(cfg.untrusted_tags))
        out: list[Segment] = []
        for seg in segs:
            if seg.kind != "direct" or seg.source != "user" or "<" not in seg.text:
                out.append(seg)
                continue
            spans = list(pattern.finditer(seg.text))
            if not spans:
                out.append(seg)
                continue
            outside, last = [], 0
            for match in spans:
                outside.append(seg.text[last : match.start()])
                last = match.end()
                out.append(Segment(seg.path, "indirect", match.group(2)))
            outside.append(seg.text[last:])
            out.append(Segment(seg.path, "direct", " ".join(outside)))
        return out

    def _policy(self, seg: Segment, cfg: ScreeningSettings) -> tuple[InjectionPolicy | None, bool]:
        """The injection policy for a segment (None: not screened for injection), and whether
        it is judged by the rules layer alone (system and assistant text)."""
        if seg.kind == "data":
            return None, False
        if seg.source != "user":
            trusted = cfg.trust.system if seg.source == "system" else cfg.trust.assistant
            return (None if trusted else cfg.system_injection), True
        return (cfg.injection if seg.kind == "direct" else cfg.indirect_injection), False

    def _screen(self, body: dict[str, Any], wire: Wire, cfg: ScreeningSettings) -> ScreenVerdict:
        flags: list[str] = []
        findings: list[Finding] = []
        if not cfg.enabled:
            return ScreenVerdict(False, None, flags, 0.0, body, findings)
        found = extract(body, wire)
        segs = found.segments
        total = sum(len(seg.text) for seg in segs)
        if total > cfg.max_request_chars:
            # Refused, not sampled: a partial screen would let whatever sits in the unscreened
            # part through, and the caller can split the work into smaller requests.
            raise PayloadTooLarge(
                f"The request carries {total} characters of text; screening covers at most "
                f"{cfg.max_request_chars} per request (screening.max_request_chars).",
                code="screening_limit_exceeded",
                param="messages",
            )
        best = 0.0
        gray: list[GrayText] = []
        injection_block: Finding | None = None
        for seg in self._split_untrusted(segs, cfg):
            policy, rules_only = self._policy(seg, cfg)
            if policy is None or policy.action == "off" or not seg.text.strip():
                continue
            det = self._detect_long(seg.text)
            score = det.rules if rules_only else det.score
            best = max(best, score)
            ftype = "prompt_injection" if seg.kind == "direct" else "indirect_prompt_injection"
            judge = policy.judge
            threshold = policy.threshold or self.detector.threshold
            if judge is not None and judge.band[0] <= score < judge.band[1]:
                gray.append(GrayText(seg.where, seg.text, score, policy.action, ftype, judge,
                                     over_threshold=score >= threshold))  # fmt: skip
                continue  # a model decides it after admission (doorman.judge)
            if score < threshold:
                continue
            finding = Finding(
                type=ftype,
                where=seg.where,
                action=policy.action,
                shadow=policy.action == "shadow",
                score=score,
                kinds=list(det.matched),
                signals=list(det.signals),
                layers={
                    "rules": det.rules,
                    "similarity": det.similarity,
                    "classifier": det.classifier,
                },
            )
            findings.append(finding)
            if policy.action == "block" and injection_block is None:
                injection_block = finding
            if policy.action in ("block", "flag"):
                _add_flag(flags, ftype)

        opaque_block: Finding | None = None
        if cfg.unscreenable.action != "off":
            for item in found.opaque:
                finding = Finding(
                    type="unscreenable",
                    where=item.where,
                    action=cfg.unscreenable.action,
                    kinds=[item.media_type],
                )
                findings.append(finding)
                _add_flag(flags, "unscreenable_content")
                if cfg.unscreenable.action == "block":
                    opaque_block = opaque_block or finding

        editor = BodyEditor(body)
        data_block: Finding | None = None
        pii_kinds = set(cfg.pii_kinds) if cfg.pii.action != "off" else set()
        if cfg.secrets.action != "off" or pii_kinds:
            for seg in segs:
                if not seg.redactable:
                    continue  # its strings are scanned one by one as data segments
                hits_found = scan(seg.text, pii_kinds)
                if cfg.secrets.action == "off":
                    hits_found = [f for f in hits_found if f.category != "secret"]
                if not hits_found:
                    continue
                to_redact: list[DataFinding] = []
                for category in ("secret", "pii"):
                    hits = [f for f in hits_found if f.category == category]
                    if not hits:
                        continue
                    action = (cfg.secrets if category == "secret" else cfg.pii).action
                    finding = Finding(
                        type=category,
                        where=seg.where,
                        action=action,
                        shadow=action == "shadow",
                        kinds=sorted({f.kind for f in hits}),
                    )
                    findings.append(finding)
                    if action == "redact":
                        to_redact.extend(hits)
                        _add_flag(flags, f"{category}_redacted")
                    elif action == "block":
                        data_block = data_block or finding
                        _add_flag(flags, f"{category}_detected")
                    elif action == "flag":
                        _add_flag(flags, f"{category}_detected")
                if to_redact:
                    redacted = redact(seg.text, to_redact)
                    editor.set(seg.path, seg.encode(redacted) if seg.encode else redacted)

        error: DoormanError | None = None
        if injection_block is not None:
            error = BadRequest(
                "The request was blocked because it looks like a prompt injection "
                f"({injection_block.where}).",
                code="prompt_injection_detected",
                param=injection_block.where,
            )
        elif data_block is not None:
            kinds = ", ".join(data_block.kinds)
            error = BadRequest(
                f"The request contains sensitive data ({kinds}) at {data_block.where}.",
                code="sensitive_data_detected",
                param=data_block.where,
            )
        elif opaque_block is not None:
            error = BadRequest(
                f"The request carries a document the screen cannot read "
                f"({', '.join(opaque_block.kinds)}) at {opaque_block.where}; this tier refuses "
                "unscreenable content (screening.unscreenable.action: block).",
                code="unscreenable_content",
                param=opaque_block.where,
            )
        return ScreenVerdict(
            blocked=error is not None,
            error=error,
            flags=flags,
            score=best,
            body=editor.result() if error is None else body,
            findings=findings,
            gray=gray if error is None else [],
        )
