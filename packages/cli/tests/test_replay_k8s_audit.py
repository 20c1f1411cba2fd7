"""Replay mapper for the Logstash-flattened Kubernetes audit CSV (PerfSPEC data set)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import pytest

from auditpipe_cli.datasets import datasets_root
from auditpipe_cli.replay.k8s_audit import COLUMNS, map_row, read_k8s_audit
from auditpipe_cli.replay.model import Record, Unmappable
from auditpipe_common.timeutil import parse_rfc3339

DATASETS = datasets_root()
CSV_FILE = DATASETS / "k8s-audit-perfspec" / "audit-logs.csv"
DOCUMENTED_ROWS = 16_563  # complete rows, PROVENANCE.md
DOCUMENTED_TRUNCATED = 1
FIRST = "2023-01-27T18:28:08.127428Z"
LAST = "2023-01-27T18:32:12.473826Z"

ROW = [
    '{"name":"k8s-master-perfspec"}',
    "2023-01-27T18:28:08.129781Z",
    "system:serviceaccount:cert-manager:cm",
    "get",
    "secrets",
    "",
    "tls",
    "",
    "/api/v1/namespaces/cert-manager/secrets/tls?timeout=10s",
    "a1b86d5d-6f8f-4058-9710-19f5cc40a68a",
    "ResponseComplete",
    "200",
    "",
    "",
    "",
]


@pytest.fixture(scope="module")
def mapped() -> list[Record | Unmappable]:
    if not CSV_FILE.is_file():
        pytest.skip(f"data set missing: {CSV_FILE} (shared/datasets must sit beside the repo)")
    return list(read_k8s_audit(CSV_FILE.parent))


@pytest.fixture(scope="module")
def source_rows() -> list[list[str]]:
    """The rows as the plain ``csv`` module sees them (no mapper involved)."""
    with CSV_FILE.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def _records(out: list[Record | Unmappable]) -> list[Record]:
    return [r for r in out if isinstance(r, Record)]


def test_counts(mapped: list[Record | Unmappable], source_rows: list[list[str]]) -> None:
    complete = sum(1 for row in source_rows if len(row) == len(COLUMNS))
    assert complete == DOCUMENTED_ROWS
    assert len(source_rows) == DOCUMENTED_ROWS + DOCUMENTED_TRUNCATED
    assert len(mapped) == len(source_rows)
    assert len(_records(mapped)) == DOCUMENTED_ROWS


def test_truncated_last_row_is_reported(mapped: list[Record | Unmappable]) -> None:
    unmappable = [u for u in mapped if isinstance(u, Unmappable)]
    assert len(unmappable) == DOCUMENTED_TRUNCATED
    (cut,) = unmappable
    assert cut.location == "audit-logs.csv:16564"
    assert "10 columns, expected 15" in cut.reason
    assert "truncated" in cut.reason
    assert mapped[-1] is cut


def test_keys_unique_and_records_complete(mapped: list[Record | Unmappable]) -> None:
    records = _records(mapped)
    assert len({r.idempotency_key for r in records}) == len(records)
    low, high = parse_rfc3339(FIRST), parse_rfc3339(LAST)
    for r in records:
        assert r.action
        assert r.actor["id"]
        assert low <= r.occurred_at_us <= high
    assert min(r.occurred_at_us for r in records) == low
    assert max(r.occurred_at_us for r in records) == high


def test_one_audit_id_in_two_stages_keeps_both(mapped: list[Record | Unmappable]) -> None:
    by_id: dict[str, list[Record]] = {}
    for r in _records(mapped):
        by_id.setdefault(r.request_id, []).append(r)
    pairs = [group for group in by_id.values() if len(group) > 1]
    assert len(pairs) == 89  # PROVENANCE.md
    complete_first = 0
    for first, second in pairs:
        assert {first.event, second.event} == {"ResponseStarted", "ResponseComplete"}
        assert first.idempotency_key != second.idempotency_key
        complete_first += first.event == "ResponseComplete"
    assert complete_first == 24  # PROVENANCE.md: ResponseComplete before ResponseStarted


def test_whole_row_kept_as_column_strings(
    mapped: list[Record | Unmappable], source_rows: list[list[str]]
) -> None:
    for out, row in zip(mapped, source_rows, strict=True):
        if isinstance(out, Record):
            assert out.attributes == {
                "dataset_format": "k8s-audit-csv",
                "record": dict(zip(COLUMNS, row, strict=True)),
            }


def test_mapping_counts(mapped: list[Record | Unmappable]) -> None:
    records = _records(mapped)
    # PROVENANCE.md counts 12,332 "get", but that includes the truncated last row.
    assert Counter(r.action for r in records)["get"] == 12_332 - 1
    assert Counter(r.outcome for r in records) == {
        "success": 14_874 + 804,
        "failure": 747 + 66 + 1,
        "denied": 71,
    }
    assert Counter(r.actor["id"] for r in records)["kubernetes-admin"] == 6_956
    assert {r.source["host"] for r in records} == {"k8s-master-perfspec"}


def test_replay_is_deterministic(mapped: list[Record | Unmappable]) -> None:
    again = list(read_k8s_audit(CSV_FILE))
    assert [getattr(r, "idempotency_key", None) for r in again] == [
        getattr(r, "idempotency_key", None) for r in mapped
    ]


def test_row_mapping() -> None:
    r = map_row(ROW, "f.csv:1")
    assert isinstance(r, Record)
    assert r.action == "get"
    assert r.actor == {"id": "system:serviceaccount:cert-manager:cm", "type": "serviceaccount"}
    assert r.resource == {
        "type": "secrets",
        "id": "/api/v1/namespaces/cert-manager/secrets/tls",
        "name": "tls",
    }
    assert r.request_id == ROW[9]
    assert r.event == "ResponseComplete"
    assert r.outcome == "success"


def test_zone_less_timestamp_is_utc() -> None:
    zoned = map_row(ROW, "f.csv:1")
    bare = map_row([*ROW[:1], ROW[1].rstrip("Z"), *ROW[2:]], "f.csv:1")
    assert isinstance(zoned, Record)
    assert isinstance(bare, Record)
    assert bare.occurred_at_us == zoned.occurred_at_us


@pytest.mark.parametrize(
    ("index", "value", "reason"),
    [
        (1, "not a time", "requestReceivedTimestamp"),
        (2, "", "user.username"),
        (3, "ge\x00t", "action: contains a NUL"),
        (8, "/api?" + "x" * 70_000, "record too large"),
    ],
)
def test_unusable_rows_are_reported(index: int, value: str, reason: str) -> None:
    row = list(ROW)
    row[index] = value
    out = map_row(row, "f.csv:9")
    assert isinstance(out, Unmappable)
    assert out.location == "f.csv:9"
    assert reason in out.reason


def _csv_line(row: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(row)
    return out.getvalue()


def test_malformed_rows_in_the_middle(tmp_path: Path) -> None:
    second = [*ROW[:9], "b51f1a8c-e53e-4104-b1a6-e695a24ed43c", *ROW[10:]]
    text = _csv_line(ROW) + "a,b,c\n\n" + _csv_line(second) + '"never closed,x\n'
    (tmp_path / "x.csv").write_text(text, encoding="utf-8")
    out = list(read_k8s_audit(tmp_path / "x.csv"))
    assert [type(o).__name__ for o in out] == ["Record", "Unmappable", "Record", "Unmappable"]
    short, unclosed = out[1], out[3]
    assert isinstance(short, Unmappable)
    assert short.location == "x.csv:2"
    assert "3 columns" in short.reason
    assert "truncated" not in short.reason
    assert isinstance(unclosed, Unmappable)
    assert unclosed.location == "x.csv:5"
    assert "CSV error" in unclosed.reason


def test_invalid_utf8_is_reported_for_its_row_only(tmp_path: Path) -> None:
    good = _csv_line(ROW).rstrip("\n")
    bad = good.replace("get", "g\xffet")
    (tmp_path / "x.csv").write_bytes(
        (good + "\n").encode() + bad.encode("latin-1") + b"\n" + (good + "\n").encode()
    )
    out = list(read_k8s_audit(tmp_path / "x.csv"))
    assert [type(o).__name__ for o in out] == ["Record", "Unmappable", "Record"]
    assert isinstance(out[1], Unmappable)
    assert "surrogate" in out[1].reason
