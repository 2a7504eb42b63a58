"""Human approval of tool calls: a call to a tool the tier marks ``require_approval`` is withheld
from the caller, recorded as a pending approval, and handed over once a person approves it.

- :mod:`.settings` — ``approvals:`` (how long an approval lives, long-poll bounds)
- :mod:`.models` / :mod:`.store` — the ``tool_approvals`` table and its state changes
- :mod:`.withhold` — find and replace withheld calls in a full answer
- :mod:`.stream` — the same for SSE streams, in both wire formats
- :mod:`.api` — ``GET /v1/approvals/{id}`` for the caller; :mod:`.admin` and :mod:`.cli` for
  approvers
"""
