"""Which upstream failures are retried, and how long to wait before the next try.

Full-jitter exponential backoff (``uniform(0, min(cap, base * 2**n))``, the AWS result that
spreads a herd best for the least total wait). An upstream ``retry-after`` is a floor: the retry
waits at least that long, plus jitter so a 429 wave does not come back as one wave.

Why not tenacity's ``AsyncRetrying`` here: one decision in this loop interleaves the circuit
breaker (skip at once when it opened meanwhile), the fallback list, the request deadline and the
rule that a ``retry-after`` longer than the deadline returns the error immediately. Expressed as
tenacity stop/wait/retry callbacks it became harder to read than this plain function, and its
wait strategies draw from the global ``random`` so tests could not inject the jitter. The maths
is tenacity's ``wait_random_exponential``; the policy is a pure function with an injectable rng.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from doorman.upstream.settings import ReliabilitySettings

# 529 is Anthropic's "overloaded". Every other 4xx is the request's own fault: never retried.
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504, 529})


def is_retryable(status: int | None) -> bool:
    """``None`` stands for a connection error or a timeout before the first byte."""
    return status is None or status in RETRYABLE_STATUS


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``retry-after`` header holding seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # NaN guard
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def retry_after_from(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """``retry-after-ms`` (OpenAI) wins over ``retry-after``; keys must be lower case."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    return parse_retry_after(headers.get("retry-after"), now)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    base_s: float = 0.25
    cap_s: float = 8.0
    max_retry_after_s: float = 60.0
    retry_after_jitter: float = 0.5

    @classmethod
    def from_settings(cls, s: ReliabilitySettings) -> RetryPolicy:
        return cls(
            max_attempts=s.max_attempts,
            base_s=s.backoff_base_s,
            cap_s=s.backoff_max_s,
            max_retry_after_s=s.max_retry_after_s,
            retry_after_jitter=s.retry_after_jitter,
        )

    def backoff_cap(self, attempt_no: int) -> float:
        return min(self.cap_s, self.base_s * (2 ** min(attempt_no, 30)))

    def delay(
        self,
        attempt_no: int,
        retry_after: float | None,
        remaining_s: float,
        rng: Callable[[], float],
    ) -> float | None:
        """Seconds to wait after failed try ``attempt_no`` (0-based), or None: do not retry.

        None when the attempts are used up, when an upstream retry-after is longer than
        ``max_retry_after_s`` or than what is left of the deadline, or when even the backoff
        would not leave time for another try.
        """
        if attempt_no + 1 >= self.max_attempts:
            return None
        if retry_after is not None:
            if retry_after > self.max_retry_after_s or retry_after >= remaining_s:
                return None
            spread = max(self.backoff_cap(attempt_no), retry_after * self.retry_after_jitter)
            wait = retry_after + rng() * spread
            # The floor fits; trim only the jitter so the deadline still holds.
            return (
                wait
                if wait < remaining_s
                else retry_after + rng() * (remaining_s - retry_after) / 2
            )
        wait = rng() * self.backoff_cap(attempt_no)
        return wait if wait < remaining_s else None
