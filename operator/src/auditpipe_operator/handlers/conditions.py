"""Status conditions: computed fresh, keeping ``lastTransitionTime`` while unchanged."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from auditpipe_operator.api.status import ConditionType


class Verdict(NamedTuple):
    """The state of one condition before it is dated."""

    type: ConditionType
    status: bool
    reason: str
    message: str


def dated(
    verdicts: Iterable[Verdict],
    previous: Sequence[Mapping[str, Any]],
    generation: int,
    now: str,
) -> list[dict[str, Any]]:
    """Conditions in wire form; a status that did not change keeps its transition time."""
    before = {str(c.get("type")): c for c in previous}
    out = []
    for verdict in verdicts:
        status = "True" if verdict.status else "False"
        old = before.get(verdict.type.value)
        since = old["lastTransitionTime"] if old and old.get("status") == status else now
        out.append(
            {
                "type": verdict.type.value,
                "status": status,
                "reason": verdict.reason,
                "message": verdict.message,
                "lastTransitionTime": since,
                "observedGeneration": generation,
            }
        )
    return out
