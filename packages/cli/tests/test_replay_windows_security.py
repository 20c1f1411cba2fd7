"""Replay mapper for Windows Security JSON lines (OTRF "Empire Remote WMIC Add User")."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from auditpipe_cli.datasets import datasets_root
from auditpipe_cli.replay.model import Record, Unmappable
from auditpipe_cli.replay.sources import loads_exact
from auditpipe_cli.replay.windows_security import map_event, read_windows_security
from auditpipe_common.timeutil import parse_rfc3339

DATASETS = datasets_root()
GZ_FILE = DATASETS / "windows-security-otrf" / "empire_wmic_add_user_backdoor.security.jsonl.gz"
DOCUMENTED_EVENTS = 6_138
# PROVENANCE.md documents the @timestamp span (collector time, UTC). EventTime is the
# host's local time (UTC-4), up to a few seconds earlier than @timestamp.
TIMESTAMP_FIRST = "2020-09-14T12:05:46.455Z"
TIMESTAMP_LAST = "2020-09-14T12:06:45.791Z"
EVENT_TIME_FIRST = "2020-09-14T12:05:43Z"
EVENT_TIME_LAST = "2020-09-14T12:06:43Z"
UTC_MINUS_4_US = 4 * 3600 * 1_000_000
KEYWORDS = re.compile(rb'"Keywords":(-?\d+)')


@pytest.fixture(scope="module")
def lines() -> list[bytes]:
    """The non-blank lines of the source file, read without the mapper."""
    if not GZ_FILE.is_file():
        pytest.skip(f"data set missing: {GZ_FILE} (shared/datasets must sit beside the repo)")
    with gzip.open(GZ_FILE, "rb") as fh:
        return [line for line in fh if line.strip()]


@pytest.fixture(scope="module")
def records(lines: list[bytes]) -> list[Record]:
    out = list(read_windows_security(GZ_FILE.parent))
    assert len(out) == len(lines)
    assert [o for o in out if isinstance(o, Unmappable)] == []
    return [o for o in out if isinstance(o, Record)]


def test_count(lines: list[bytes], records: list[Record]) -> None:
    assert len(lines) == len(records) == DOCUMENTED_EVENTS


def test_keys_unique_and_records_complete(records: list[Record]) -> None:
    assert len({r.idempotency_key for r in records}) == len(records)
    low, high = parse_rfc3339(EVENT_TIME_FIRST), parse_rfc3339(EVENT_TIME_LAST)
    for r in records:
        assert r.action
        assert r.actor["id"]
        assert low <= r.occurred_at_us <= high
    assert min(r.occurred_at_us for r in records) == low
    assert max(r.occurred_at_us for r in records) == high


def test_event_time_is_local_and_converted(records: list[Record]) -> None:
    documented_low = parse_rfc3339(TIMESTAMP_FIRST)
    documented_high = parse_rfc3339(TIMESTAMP_LAST)
    for r in records:
        raw = r.attributes["record"]
        local = parse_rfc3339(raw["EventTime"], assume_utc=True)
        collected = parse_rfc3339(raw["@timestamp"])
        assert r.occurred_at_us == local + UTC_MINUS_4_US
        assert collected - 60_000_000 <= r.occurred_at_us <= collected
        assert documented_low - 60_000_000 <= r.occurred_at_us <= documented_high


def test_big_integers_round_trip_exactly(lines: list[bytes], records: list[Record]) -> None:
    for line, r in zip(lines, records, strict=True):
        match = KEYWORDS.search(line)
        assert match is not None
        value = r.attributes["record"]["Keywords"]
        assert type(value) is int
        assert value == int(match.group(1))
        assert abs(value) > 2**53
    assert {r.attributes["record"]["Keywords"] for r in records} == {
        -9214364837600034816,
        -9218868437227405312,
    }


def test_whole_record_kept(lines: list[bytes], records: list[Record]) -> None:
    for line, r in zip(lines, records, strict=True):
        assert r.attributes == {
            "dataset_format": "windows-security-jsonl",
            "record": json.loads(line),
        }
    policy = [r for r in records if r.attributes["record"]["EventID"] == 4739]
    assert policy[0].attributes["record"]["MinPasswordAge"] == "\u0283"


def test_the_backdoor_story(records: list[Record]) -> None:
    by_id: dict[int, list[Record]] = {}
    for r in records:
        by_id.setdefault(r.attributes["record"]["EventID"], []).append(r)
    (created,) = by_id[4720]
    assert created.action == "4720:User Account Management"
    assert created.event == "A user account was created."
    assert created.actor == {"id": "THESHIRE\\pgustavo", "type": "account"}
    assert created.resource["name"] == "WORKSTATION6\\backdoor"
    assert created.source == {
        "service": "Microsoft-Windows-Security-Auditing",
        "host": "WORKSTATION6.theshire.local",
    }
    (added,) = by_id[4728]
    assert added.resource["type"] == "group"
    assert added.resource["name"] == "WORKSTATION6\\None"  # "None" is the group's real name
    (reset,) = by_id[4724]
    assert reset.outcome == "failure"
    assert {r.trace_id for r in (created, added, reset)} == {
        "{E0F7BC1B-4488-0000-8D57-1F92808AD601}"
    }
    logons = [r for r in by_id[4624] if r.actor["id"] == "THESHIRE.LOCAL\\pgustavo"]
    assert logons
    assert all(r.actor["ip"] == "172.18.39.5" for r in logons)


def test_outcomes_and_placeholders(records: list[Record]) -> None:
    assert Counter(r.outcome for r in records) == {"success": 6108, "denied": 27, "failure": 3}
    placeholders = [r for r in records if r.actor["id"].startswith("unknown:")]
    assert {r.attributes["record"]["EventID"] for r in placeholders} == {4954, 4957}
    assert len(placeholders) == 3


def test_record_numbers_are_per_host(records: list[Record]) -> None:
    pairs = Counter(
        (r.attributes["record"]["Hostname"], r.attributes["record"]["RecordNumber"])
        for r in records
    )
    assert max(pairs.values()) == 1


def _event(**fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "EventID": 4720,
        "RecordNumber": 7,
        "Hostname": "H.example",
        "Channel": "Security",
        "EventType": "AUDIT_SUCCESS",
        "Category": "User Account Management",
        "EventTime": "2020-09-14 08:06:02",
        "EventReceivedTime": "2020-09-14 08:06:03",
        "@timestamp": "2020-09-14T12:06:03.748Z",
        "SubjectUserName": "pgustavo",
        "SubjectDomainName": "THESHIRE",
        "TargetUserName": "backdoor",
        "TargetSid": "S-1-5-21-1-2-3-1000",
        "Keywords": -9214364837600034816,
    }
    event.update(fields)
    return event


def test_zone_offset_read_from_each_record() -> None:
    utc_plus_2 = _event(
        EventTime="2020-09-14 14:06:02",
        EventReceivedTime="2020-09-14 14:06:03",
        **{"@timestamp": "2020-09-14T12:06:03.100Z"},
    )
    r = map_event(utc_plus_2, "f:1")
    assert isinstance(r, Record)
    assert r.occurred_at_us == parse_rfc3339("2020-09-14T12:06:02Z")
    skewed = map_event(_event(**{"@timestamp": "2020-09-14T12:16:03Z"}), "f:2")
    assert isinstance(skewed, Unmappable)
    assert "zone" in skewed.reason
    no_time = map_event(_event(EventTime=None), "f:3")
    assert isinstance(no_time, Unmappable)
    assert "EventTime" in no_time.reason


def test_actor_fallbacks() -> None:
    logon = map_event(_event(EventID=4624, Category="Logon", SubjectUserName="H$"), "f:1")
    assert isinstance(logon, Record)  # the Target logged on; the Subject only processed it
    assert logon.actor == {"id": "backdoor", "type": "account"}
    assert logon.resource == {}
    only_sid = map_event(
        _event(SubjectUserName="-", SubjectUserSid="S-1-5-18", TargetUserName="-"), "f:1"
    )
    assert isinstance(only_sid, Record)
    assert only_sid.actor["id"] == "S-1-5-18"
    wfp = _event(EventID=5156, Application="\\device\\x.exe")
    process = {k: v for k, v in wfp.items() if "User" not in k and "Sid" not in k}
    mapped = map_event(process, "f:1")
    assert isinstance(mapped, Record)
    assert mapped.actor == {"id": "\\device\\x.exe", "type": "process"}
    del process["Application"]
    nobody = map_event(process, "f:1")
    assert isinstance(nobody, Record)
    assert nobody.actor == {"id": "unknown:no-subject-in-event", "type": "unknown"}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"EventID": 4720,', "invalid JSON"),
        (b'{"EventID": NaN}', "NaN"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"EventID": "4720"}', "EventID"),
        (b'{"EventID": 4720}', "EventTime"),
        (b"\xff\xfe", "invalid UTF-8"),
    ],
)
def test_bad_lines_are_reported(tmp_path: Path, line: bytes, reason: str) -> None:
    good = json.dumps(_event()).encode()
    (tmp_path / "x.jsonl").write_bytes(good + b"\n" + line + b"\n\n" + good + b"\n")
    out = list(read_windows_security(tmp_path))
    assert [type(o).__name__ for o in out] == ["Record", "Unmappable", "Record"]
    assert isinstance(out[1], Unmappable)
    assert out[1].location == "x.jsonl:2"
    assert reason in out[1].reason


def test_duplicate_key_and_nul_are_reported() -> None:
    dup = loads_exact(json.dumps(_event())[:-1] + ', "TargetUserName": "other"}')
    out = map_event(dup, "f:1")
    assert isinstance(out, Unmappable)
    assert "duplicate key 'TargetUserName'" in out.reason
    nul = map_event(_event(Message="A user\x00 account"), "f:2")
    assert isinstance(nul, Unmappable)
    assert "NUL" in nul.reason


def test_cut_gzip_is_reported(tmp_path: Path) -> None:
    body = b"".join(json.dumps(_event(RecordNumber=n)).encode() + b"\n" for n in range(200))
    packed = gzip.compress(body)
    (tmp_path / "x.jsonl.gz").write_bytes(packed[: len(packed) // 2])
    out = list(read_windows_security(tmp_path))
    assert isinstance(out[-1], Unmappable)
    assert "rest of the file" in out[-1].reason
    assert all(isinstance(o, Record) for o in out[:-1])
