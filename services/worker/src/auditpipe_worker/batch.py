"""Turning stream entries into rows: decode, drop duplicates, attach retention."""

from __future__ import annotations

from dataclasses import dataclass, field

from google.protobuf.message import DecodeError

from auditpipe_common.schema import AuditEvent, EventBatch
from auditpipe_common.streams import BATCH_FIELD


@dataclass
class Entry:
    """One stream entry: where it is, and its events (empty if undecodable)."""

    stream: str
    entry_id: str
    payload: bytes
    events: list[AuditEvent] = field(default_factory=list)
    error: str = ""

    @property
    def shard(self) -> int:
        """The shard number of the entry's stream (``{prefix}:events:{shard}``)."""
        return int(self.stream.rsplit(":", 1)[1])


def decode_entry(stream: str, entry_id: str, fields: dict[bytes, bytes] | None) -> Entry:
    """Decode one entry; a missing (trimmed) or broken payload sets ``error``."""
    if fields is None:
        return Entry(stream, entry_id, b"", error="entry was trimmed from the stream")
    payload = fields.get(BATCH_FIELD, b"")
    entry = Entry(stream, entry_id, payload)
    if not payload:
        entry.error = "entry has no batch field"
        return entry
    try:
        entry.events = list(EventBatch.FromString(payload).events)
    except DecodeError as exc:
        entry.error = f"undecodable batch: {exc}"
    return entry


def unique_by_tenant(entries: list[Entry]) -> dict[str, list[AuditEvent]]:
    """Events grouped by tenant, first occurrence of each idempotency key kept."""
    out: dict[str, list[AuditEvent]] = {}
    seen: set[tuple[str, str]] = set()
    for entry in entries:
        for ev in entry.events:
            key = (ev.tenant, ev.idempotency_key)
            if key in seen:
                continue
            seen.add(key)
            out.setdefault(ev.tenant, []).append(ev)
    return out
