"""Format detection, the ``read`` entry point, and the shared record checks."""

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from auditpipe_cli.datasets import datasets_root
from auditpipe_cli.replay.formats import FORMATS, UnknownFormatError, detect, read
from auditpipe_cli.replay.model import (
    LIMITS,
    Record,
    Unmappable,
    check_record,
    deterministic_uuid7,
)
from auditpipe_common.errors import EventError
from auditpipe_common.eventjson import event_from_json
from auditpipe_common.validation import Limits, validate_event

DATASETS = datasets_root()
EXPECTED = {
    "cloudtrail-invictus": ("cloudtrail", 2_900),
    "cloudtrail-stratus-detonations": ("cloudtrail", 310),
    "k8s-audit-perfspec": ("k8s-audit-csv", 16_563 + 1),
    "windows-security-otrf": ("windows-security-jsonl", 6_138),
}


def test_format_names() -> None:
    assert sorted(FORMATS) == ["cloudtrail", "k8s-audit-csv", "windows-security-jsonl"]


@pytest.mark.parametrize("folder", sorted(EXPECTED))
def test_detect_and_read_each_data_set(folder: str) -> None:
    path = DATASETS / folder
    if not path.is_dir():
        pytest.skip(f"data set missing: {path} (shared/datasets must sit beside the repo)")
    fmt, count = EXPECTED[folder]
    assert detect(path) == fmt
    out = list(read(path))
    assert len(out) == count
    assert all(isinstance(o, Record) and o.attributes["dataset_format"] == fmt for o in out[:50])


def test_detect_by_content(tmp_path: Path) -> None:
    array = tmp_path / "a.txt"
    array.write_text('[\n  {"eventID": "x"}\n]', encoding="utf-8")
    wrapped = tmp_path / "b.log"
    wrapped.write_text('{"Records":[]}', encoding="utf-8")
    lines = tmp_path / "c.log.gz"
    lines.write_bytes(gzip.compress(b'{"EventID": 4624, "Channel": "Security"}\n'))
    rows = tmp_path / "d.txt"
    rows.write_text(",".join(["x"] * 15) + "\n", encoding="utf-8")
    assert [detect(p) for p in (array, wrapped, lines, rows)] == [
        "cloudtrail",
        "cloudtrail",
        "windows-security-jsonl",
        "k8s-audit-csv",
    ]


def test_unknown_format(tmp_path: Path) -> None:
    odd = tmp_path / "x.txt"
    odd.write_text("hello\n", encoding="utf-8")
    with pytest.raises(UnknownFormatError):
        detect(odd)
    with pytest.raises(UnknownFormatError):
        read(odd, "syslog")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UnknownFormatError):
        detect(empty)
    with pytest.raises(FileNotFoundError):
        detect(tmp_path / "missing")


def test_directories_are_read_in_sorted_order(tmp_path: Path) -> None:
    for name in ("b.json", "a.json", "sub/c.json"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("[1]", encoding="utf-8")
    locations = [o.location for o in read(tmp_path, "cloudtrail")]
    assert locations == ["a.json#0", "b.json#0", "sub/c.json#0"]


def test_deterministic_uuid7_shape_and_stability() -> None:
    key = deterministic_uuid7(1_600_085_162_000, "fmt", "host", "42")
    parsed = uuid.UUID(key)
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert parsed.int >> 80 == 1_600_085_162_000
    assert key == deterministic_uuid7(1_600_085_162_000, "fmt", "host", "42")
    assert key != deterministic_uuid7(1_600_085_162_000, "fmt", "host", "43")


def _record(**fields: Any) -> Record:
    base: dict[str, Any] = {
        "idempotency_key": deterministic_uuid7(1, "t"),
        "occurred_at_us": 1_600_000_000_000_000,
        "action": "a",
        "actor": {"id": "u"},
        "attributes": {"record": {"n": 2**70}},
        "location": "f:1",
    }
    base.update(fields)
    return Record(**base)


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"x": value}
    return value


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"action": ""}, "action: empty"),
        ({"actor": {"id": ""}}, "actor.id: empty"),
        ({"outcome": "maybe"}, "outcome"),
        ({"occurred_at_us": -1}, "occurred_at"),
        ({"resource": {"name": "r\x00"}}, "resource.name: contains a NUL"),
        ({"event": "e" * (LIMITS.max_string_chars + 1)}, "event: 4097 characters"),
        ({"attributes": {"record": {"k\x00": 1}}}, "NUL"),
        ({"attributes": {"record": ["\ud800"]}}, "surrogate"),
        ({"attributes": {"record": float("nan")}}, "non-finite"),
        ({"attributes": {"record": _nested(LIMITS.max_attribute_depth)}}, "nested deeper"),
        ({"attributes": {"record": "x" * LIMITS.max_event_bytes}}, "record too large"),
    ],
)
def test_check_record_reports_what_ingest_would_reject(fields: dict[str, Any], reason: str) -> None:
    out = check_record(_record(**fields))
    assert isinstance(out, Unmappable)
    assert out.location == "f:1"
    assert reason in out.reason


def test_check_record_accepts_and_keeps_big_integers() -> None:
    record = _record(attributes={"record": _nested(LIMITS.max_attribute_depth - 2), "n": 2**70})
    assert check_record(record) is record
    encoded = json.dumps(record.to_json())
    assert str(2**70) in encoded


def _ingest_accepts(record: Record) -> None:
    """Run the record through ingest's own JSON decoding and validation."""
    item = {**record.to_json(), "seq": 1}
    size = len(json.dumps(item, ensure_ascii=False).encode())
    validate_event(event_from_json(item), "replay", Limits(), size)


def test_boundary_record_passes_ingest_validation() -> None:
    record = _record(attributes={"record": _nested(LIMITS.max_attribute_depth - 2)})
    _ingest_accepts(record)
    deeper = _record(attributes={"record": _nested(LIMITS.max_attribute_depth - 1)})
    assert isinstance(check_record(deeper), Unmappable)
    with pytest.raises(EventError):
        _ingest_accepts(deeper)


@pytest.mark.parametrize("folder", sorted(EXPECTED))
def test_every_mapped_record_passes_ingest_validation(folder: str) -> None:
    path = DATASETS / folder
    if not path.is_dir():
        pytest.skip(f"data set missing: {path} (shared/datasets must sit beside the repo)")
    for out in read(path):
        if isinstance(out, Record):
            _ingest_accepts(out)
