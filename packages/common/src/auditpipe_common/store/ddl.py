"""Table definitions. Creation is idempotent (``IF NOT EXISTS``).

``events`` is a MergeTree ordered by ``(tenant, seq)`` and partitioned by the
month of ``received_at`` (the platform's clock, never the client's), so
retention drops whole parts. Its TTL keeps each row ``retention_days`` days
after it was received; the worker writes ``retention_days`` per row from the
tenant's policy. The ``by_key`` projection orders ``(tenant,
idempotency_key)`` so the worker's duplicate check reads only the keys it
asks for, and it is written atomically with the rows themselves.
The constraints reject rows that no valid ingest would produce (a last line of
defence; the worker dead-letters such rows one by one).
``log_index`` is the row's position in its tenant's verifiable log (see
docs/verification.md); a minmax index over it lets the verifier read a log in
position order range by range. Beside the events, ``log_batches`` records each
batch the worker appended to a log (first position, the leaf hashes, the tree
state after it, when its rows may expire) and ``checkpoints`` keeps the signed
checkpoints. Both are small (32 bytes per event and one row per checkpoint)
and have no TTL: they outlive the events they describe, so a log whose old
rows retention dropped still verifies against its checkpoints.
``non_replicated_deduplication_window`` enables ``insert_deduplication_token``
(the default of 0 would silently disable it).
"""

from __future__ import annotations

EVENTS_TABLE = "events"
LOG_BATCHES_TABLE = "log_batches"
CHECKPOINTS_TABLE = "checkpoints"

DEDUP_WINDOW = 10_000


def create_database(database: str) -> str:
    """DDL for the database."""
    return f"CREATE DATABASE IF NOT EXISTS {database}"


def migrations(database: str) -> list[str]:
    """Idempotent changes that bring a table created by an older version up to date."""
    table = f"{database}.{EVENTS_TABLE}"
    return [
        f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS clock_skewed Bool DEFAULT false "
        "AFTER retention_days",
        f"ALTER TABLE {table} ADD CONSTRAINT IF NOT EXISTS seq_positive CHECK seq > 0",
        f"ALTER TABLE {table} ADD CONSTRAINT IF NOT EXISTS key_present CHECK idempotency_key != ''",
        f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS log_index UInt64 DEFAULT 0 "
        "AFTER clock_skewed",
        f"ALTER TABLE {table} ADD INDEX IF NOT EXISTS log_position log_index "
        "TYPE minmax GRANULARITY 1",
    ]


def create_events(database: str) -> str:
    """DDL for the events table."""
    return f"""
CREATE TABLE IF NOT EXISTS {database}.{EVENTS_TABLE}
(
    tenant LowCardinality(String),
    seq UInt64,
    idempotency_key String,
    occurred_at DateTime64(6, 'UTC'),
    received_at DateTime64(6, 'UTC'),
    event String,
    action LowCardinality(String),
    outcome LowCardinality(String),
    actor_id String,
    actor_type LowCardinality(String),
    actor_role String,
    actor_ip String,
    actor_user_agent String,
    resource_type LowCardinality(String),
    resource_id String,
    resource_name String,
    source_service LowCardinality(String),
    source_host String,
    source_sdk_name LowCardinality(String),
    source_sdk_version LowCardinality(String),
    request_id String,
    trace_id String,
    attributes String CODEC(ZSTD(3)),
    retention_days UInt16,
    clock_skewed Bool DEFAULT false,
    log_index UInt64 DEFAULT 0,
    INDEX log_position log_index TYPE minmax GRANULARITY 1,
    CONSTRAINT seq_positive CHECK seq > 0,
    CONSTRAINT key_present CHECK idempotency_key != '',
    PROJECTION by_key (
        SELECT tenant, idempotency_key, seq, log_index ORDER BY (tenant, idempotency_key)
    )
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (tenant, seq)
TTL toDateTime(received_at) + toIntervalDay(retention_days)
SETTINGS non_replicated_deduplication_window = {DEDUP_WINDOW},
         deduplicate_merge_projection_mode = 'rebuild'
"""


def create_log_batches(database: str) -> str:
    """DDL for the record of every batch appended to a tenant's log."""
    return f"""
CREATE TABLE IF NOT EXISTS {database}.{LOG_BATCHES_TABLE}
(
    tenant LowCardinality(String),
    start UInt64,
    count UInt32,
    leaf_hashes String,
    state String,
    expires_at DateTime64(6, 'UTC'),
    written_at DateTime64(6, 'UTC')
)
ENGINE = MergeTree
ORDER BY (tenant, start)
SETTINGS non_replicated_deduplication_window = {DEDUP_WINDOW}
"""


def create_checkpoints(database: str) -> str:
    """DDL for the signed checkpoints of every tenant's log."""
    return f"""
CREATE TABLE IF NOT EXISTS {database}.{CHECKPOINTS_TABLE}
(
    tenant LowCardinality(String),
    size UInt64,
    root String,
    signed_at DateTime64(6, 'UTC'),
    note String
)
ENGINE = MergeTree
ORDER BY (tenant, size)
SETTINGS non_replicated_deduplication_window = {DEDUP_WINDOW}
"""
