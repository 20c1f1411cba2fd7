"""Query filters and their translation into parameterised ClickHouse SQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EventFilter:
    """What to select. ``tenant`` is mandatory: every query is tenant-scoped.

    Time bounds are epoch microseconds, ``since`` inclusive and ``until``
    exclusive, applied to ``occurred_at`` (or ``received_at`` when
    ``time_field`` says so). Sequence bounds are inclusive.
    """

    tenant: str
    actor: str | None = None
    action: str | None = None
    event: str | None = None
    outcome: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    since_us: int | None = None
    until_us: int | None = None
    time_field: str = "occurred_at"
    seq_from: int | None = None
    seq_to: int | None = None

    def where(self, after_seq: int | None = None) -> tuple[str, dict[str, Any]]:
        """The WHERE clause and its parameters (never string-formatted values)."""
        if self.time_field not in ("occurred_at", "received_at"):
            raise ValueError("time_field must be occurred_at or received_at")
        clauses = ["tenant = {tenant:String}"]
        params: dict[str, Any] = {"tenant": self.tenant}
        for column, value in (
            ("actor_id", self.actor),
            ("action", self.action),
            ("event", self.event),
            ("outcome", self.outcome),
            ("resource_type", self.resource_type),
            ("resource_id", self.resource_id),
        ):
            if value is not None:
                clauses.append(f"{column} = {{{column}:String}}")
                params[column] = value
        if self.since_us is not None:
            clauses.append(f"toUnixTimestamp64Micro({self.time_field}) >= {{since:Int64}}")
            params["since"] = self.since_us
        if self.until_us is not None:
            clauses.append(f"toUnixTimestamp64Micro({self.time_field}) < {{until:Int64}}")
            params["until"] = self.until_us
        lower = max(self.seq_from or 0, (after_seq + 1) if after_seq is not None else 0)
        if lower:
            clauses.append("seq >= {seq_lo:UInt64}")
            params["seq_lo"] = lower
        if self.seq_to is not None:
            clauses.append("seq <= {seq_hi:UInt64}")
            params["seq_hi"] = self.seq_to
        return " AND ".join(clauses), params
