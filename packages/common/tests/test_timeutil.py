"""RFC 3339 parsing: zones, precision, leap seconds and range."""

from __future__ import annotations

import pytest

from auditpipe_common.timeutil import (
    MAX_US,
    TimestampError,
    format_rfc3339,
    parse_rfc3339,
)


def test_zulu_and_offset_give_the_same_instant() -> None:
    assert parse_rfc3339("2023-07-10T11:42:18Z") == parse_rfc3339("2023-07-10T13:42:18+02:00")
    assert parse_rfc3339("2023-07-10T11:42:18Z") == 1_688_989_338_000_000


def test_nanoseconds_are_truncated_to_microseconds() -> None:
    assert parse_rfc3339("2023-07-10T11:42:18.123456789Z") % 1_000_000 == 123_456


def test_zone_less_text_is_rejected_unless_utc_is_assumed() -> None:
    with pytest.raises(TimestampError) as exc:
        parse_rfc3339("2023-07-10T11:42:18")
    assert exc.value.code == "timestamp_without_zone"
    assert parse_rfc3339("2023-07-10T11:42:18", assume_utc=True) == 1_688_989_338_000_000


def test_leap_second_maps_to_last_microsecond_of_the_minute() -> None:
    us = parse_rfc3339("2016-12-31T23:59:60Z")
    assert format_rfc3339(us) == "2016-12-31T23:59:59.999999Z"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("1969-12-31T23:59:59Z", "timestamp_out_of_range"),
        ("2300-01-01T00:00:00Z", "timestamp_out_of_range"),
        ("2023-02-30T00:00:00Z", "invalid_timestamp"),
        ("yesterday", "invalid_timestamp"),
    ],
)
def test_bad_timestamps_get_a_precise_code(text: str, code: str) -> None:
    with pytest.raises(TimestampError) as exc:
        parse_rfc3339(text)
    assert exc.value.code == code


def test_range_edges_are_accepted_and_round_trip() -> None:
    assert format_rfc3339(parse_rfc3339("1970-01-01T00:00:00Z")) == "1970-01-01T00:00:00.000000Z"
    assert parse_rfc3339("2299-12-31T23:59:59.999999Z") == MAX_US
    assert format_rfc3339(parse_rfc3339("2100-01-01T00:00:00Z")) == "2100-01-01T00:00:00.000000Z"
