"""Replay mapper for AWS CloudTrail, against the two real CloudTrail data sets."""

from __future__ import annotations

import gzip
import itertools
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from auditpipe_cli.datasets import datasets_root
from auditpipe_cli.replay.cloudtrail import map_record, read_cloudtrail
from auditpipe_cli.replay.model import Record, Unmappable
from auditpipe_common.timeutil import parse_rfc3339

DATASETS = datasets_root()
INVICTUS = DATASETS / "cloudtrail-invictus"
STRATUS = DATASETS / "cloudtrail-stratus-detonations"
# (folder, records per PROVENANCE.md, first and last eventTime per PROVENANCE.md)
SETS = {
    "invictus": (INVICTUS, 2_900, "2023-07-10T11:42:18Z", "2023-07-10T12:37:50Z"),
    "stratus": (STRATUS, 310, "2024-07-30T21:31:10Z", "2024-11-30T08:43:18Z"),
}


def _folder(name: str) -> Path:
    folder = SETS[name][0]
    if not folder.is_dir():
        pytest.skip(f"data set missing: {folder} (shared/datasets must sit beside the repo)")
    return folder


def _source_records(folder: Path) -> list[dict[str, Any]]:
    """The records as plain ``json.load`` sees them, in sorted file order (no mapper)."""
    out: list[dict[str, Any]] = []
    for file in sorted(folder.rglob("*.json"), key=lambda p: p.relative_to(folder).as_posix()):
        doc = json.loads(file.read_text(encoding="utf-8"))
        out.extend(doc["Records"] if isinstance(doc, dict) else doc)
    return out


@pytest.fixture(scope="module", params=sorted(SETS))
def dataset(request: pytest.FixtureRequest) -> tuple[str, list[Record | Unmappable]]:
    name: str = request.param
    return name, list(read_cloudtrail(_folder(name)))


def test_count_matches_source_and_provenance(
    dataset: tuple[str, list[Record | Unmappable]],
) -> None:
    name, out = dataset
    folder, documented, _, _ = SETS[name]
    assert len(out) == len(_source_records(folder)) == documented
    assert [u for u in out if isinstance(u, Unmappable)] == []


def test_keys_unique_and_every_record_complete(
    dataset: tuple[str, list[Record | Unmappable]],
) -> None:
    name, out = dataset
    _, _, first, last = SETS[name]
    records = [r for r in out if isinstance(r, Record)]
    assert len({r.idempotency_key for r in records}) == len(records)
    low, high = parse_rfc3339(first), parse_rfc3339(last)
    for r in records:
        assert r.action
        assert ":" in r.action
        assert r.actor["id"]
        assert low <= r.occurred_at_us <= high
        assert r.outcome in {"success", "failure", "denied"}


def test_whole_record_kept_exactly(dataset: tuple[str, list[Record | Unmappable]]) -> None:
    name, out = dataset
    source = _source_records(SETS[name][0])
    for mapped, original in zip(out, source, strict=True):
        assert isinstance(mapped, Record)
        assert mapped.attributes == {"dataset_format": "cloudtrail", "record": original}


def test_replay_is_deterministic() -> None:
    folder = _folder("stratus")
    first = [r.idempotency_key for r in read_cloudtrail(folder) if isinstance(r, Record)]
    second = [r.idempotency_key for r in read_cloudtrail(folder) if isinstance(r, Record)]
    assert first == second


def test_shared_request_ids_still_get_distinct_keys(
    dataset: tuple[str, list[Record | Unmappable]],
) -> None:
    name, out = dataset
    records = [r for r in out if isinstance(r, Record)]
    shared = {k for k, n in Counter(r.request_id for r in records if r.request_id).items() if n > 1}
    if name == "invictus":
        assert len(shared) == 45  # PROVENANCE.md: 45 requestID values on several records
    for request_id in shared:
        keys = {r.idempotency_key for r in records if r.request_id == request_id}
        assert len(keys) > 1


def test_invictus_mapping_details() -> None:
    records = [r for r in read_cloudtrail(_folder("invictus")) if isinstance(r, Record)]
    service_events = [r for r in records if "type" not in r.attributes["record"]["userIdentity"]]
    assert len(service_events) == 42
    assert all(r.actor["id"].endswith(".amazonaws.com") for r in service_events)  # invokedBy
    assert Counter(r.outcome for r in records) == {"success": 2600, "failure": 240, "denied": 60}
    assert {r.actor.get("ip") for r in records} >= {"AWS Internal", "secretsmanager.amazonaws.com"}
    assert {r.source["host"] for r in records} == {"us-east-1"}
    # Read in file order, records go backwards in time (delivery lag, overlapping files).
    times = [r.occurred_at_us for r in records]
    assert any(b < a for a, b in itertools.pairwise(times))


def test_stratus_odd_values_kept_as_text() -> None:
    records = [r for r in read_cloudtrail(_folder("stratus")) if isinstance(r, Record)]
    assert "sagov-westsouth-1r" in {r.source["host"] for r in records}
    assert "253.252.51.07" in {r.actor.get("ip") for r in records}  # leading zero, not an IP
    federated = [r for r in records if r.actor.get("type") == "FederatedUser"]
    assert federated
    assert federated[0].actor["role"].endswith(":user/stratus-red-team-user-federation-user")


def _ct(**fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "eventTime": "2023-07-10T11:42:36Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": "CreateUser",
        "eventID": "7c3b6a1e-0000-4000-8000-000000000001",
        "eventType": "AwsApiCall",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/a"},
        "requestParameters": {"userName": "bob"},
    }
    record.update(fields)
    return record


def test_synthetic_record_mapping() -> None:
    r = map_record(_ct(), "x#0")
    assert isinstance(r, Record)
    assert r.action == "iam:CreateUser"
    assert r.resource == {"type": "user", "name": "bob"}
    assert r.occurred_at_us == parse_rfc3339("2023-07-10T11:42:36Z")
    denied = map_record(_ct(errorCode="AccessDenied"), "x#0")
    assert isinstance(denied, Record)
    assert denied.outcome == "denied"
    console = map_record(
        _ct(eventType="AwsConsoleSignIn", responseElements={"ConsoleLogin": "Failure"}), "x#0"
    )
    assert isinstance(console, Record)
    assert console.outcome == "failure"


def test_actor_fallbacks_and_placeholder() -> None:
    only_type = map_record(_ct(userIdentity={"type": "Unknown"}), "x#0")
    assert isinstance(only_type, Record)
    assert only_type.actor == {"id": "unknown:Unknown", "type": "Unknown"}
    principal = map_record(_ct(userIdentity={"type": "AWSAccount", "principalId": "P1"}), "x#0")
    assert isinstance(principal, Record)
    assert principal.actor["id"] == "P1"
    nobody = map_record(_ct(userIdentity={"accountId": "1"}), "x#7")
    assert isinstance(nobody, Unmappable)
    assert nobody.location == "x#7"
    assert "userIdentity" in nobody.reason


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"eventName": "Create\x00User"}, "NUL"),
        ({"requestParameters": {"policy": "a\x00b"}}, "NUL"),
        ({"eventTime": "yesterday"}, "eventTime"),
        ({"eventSource": ""}, "eventSource"),
        ({"userAgent": "x" * 5000}, "actor.user_agent: 5000 characters"),
        ({"requestParameters": {"policy": "x" * 70_000}}, "record too large"),
    ],
)
def test_unusable_records_are_reported(fields: dict[str, Any], reason: str) -> None:
    out = map_record(_ct(**fields), "f.json#3")
    assert isinstance(out, Unmappable)
    assert out.location == "f.json#3"
    assert reason in out.reason


def test_broken_files_do_not_stop_the_reader(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"Records": [', encoding="utf-8")
    (tmp_path / "b.json").write_text('{"NotRecords": 1}', encoding="utf-8")
    dup = "[" + json.dumps(_ct())[:-1] + ', "eventName": "B"}]'
    (tmp_path / "c.json").write_text(dup, encoding="utf-8")
    with gzip.open(tmp_path / "d.json.gz", "wt", encoding="utf-8") as fh:
        json.dump({"Records": [_ct(), "not an object"]}, fh)
    out = list(read_cloudtrail(tmp_path))
    assert [type(o).__name__ for o in out] == [
        "Unmappable",
        "Unmappable",
        "Unmappable",
        "Record",
        "Unmappable",
    ]
    assert isinstance(out[0], Unmappable)
    assert "invalid JSON" in out[0].reason
    assert isinstance(out[2], Unmappable)
    assert "duplicate key 'eventName'" in out[2].reason
    assert [o.location for o in out] == [
        "a.json",
        "b.json",
        "c.json#0",
        "d.json.gz#0",
        "d.json.gz#1",
    ]


def test_missing_event_id_falls_back_to_location() -> None:
    record = _ct()
    del record["eventID"]
    a, b = map_record(record, "f.json#1"), map_record(record, "f.json#2")
    assert isinstance(a, Record)
    assert isinstance(b, Record)
    assert a.idempotency_key != b.idempotency_key
