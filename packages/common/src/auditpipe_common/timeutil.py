"""Timestamps on the wire: integer microseconds since the Unix epoch, UTC.

The JSON form accepts RFC 3339 text (a zone offset is required) or an integer
number of microseconds, and always writes RFC 3339 UTC with six fractional
digits. Sub-microsecond digits are truncated; a leap second (``:60``) is mapped
to the last microsecond of its minute, since neither POSIX time nor ClickHouse
can represent it. The accepted range is what ClickHouse ``DateTime64(6)``
stores: 1970-01-01 up to the end of 2299.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

MIN_US = 0
MAX_US = int(datetime(2300, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000 - 1

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:(Z|z)|([+-])(\d{2}):?(\d{2}))?$"
)


class TimestampError(ValueError):
    """A timestamp that cannot be accepted; ``code`` names the kind of problem."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def now_us() -> int:
    """The current wall-clock time in microseconds since the epoch."""
    return time.time_ns() // 1000


def parse_rfc3339(text: str, *, assume_utc: bool = False) -> int:
    """Parse RFC 3339 text into epoch microseconds.

    Text without a zone offset is rejected unless ``assume_utc`` is set (the
    replay mappers set it for sources documented to write UTC without a zone).
    """
    m = _RFC3339.match(text.strip())
    if m is None:
        raise TimestampError("invalid_timestamp", f"not an RFC 3339 timestamp: {text[:64]!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    frac = (m.group(7) or "").ljust(6, "0")[:6]
    if m.group(8) is None and m.group(9) is None:
        if not assume_utc:
            raise TimestampError(
                "timestamp_without_zone", f"timestamp has no zone offset: {text[:64]!r}"
            )
        offset = timedelta(0)
    elif m.group(9) is None:
        offset = timedelta(0)
    else:
        sign = 1 if m.group(9) == "+" else -1
        offset = sign * timedelta(hours=int(m.group(10)), minutes=int(m.group(11)))
    leap = second == 60
    try:
        dt = datetime(year, month, day, hour, minute, 59 if leap else second, tzinfo=UTC)
    except ValueError as exc:
        raise TimestampError("invalid_timestamp", f"{exc}: {text[:64]!r}") from None
    micros = 999_999 if leap else int(frac)
    us = (int(dt.timestamp()) - int(offset.total_seconds())) * 1_000_000 + micros
    return check_range(us)


def check_range(us: int) -> int:
    """Return ``us`` if it lies in the storable range, else raise TimestampError."""
    if not MIN_US <= us <= MAX_US:
        raise TimestampError(
            "timestamp_out_of_range",
            f"timestamp {us} us is outside 1970-01-01..2299-12-31",
        )
    return us


def to_datetime(us: int) -> datetime:
    """Epoch microseconds as an aware UTC datetime."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def format_rfc3339(us: int) -> str:
    """Epoch microseconds as RFC 3339 UTC text with six fractional digits."""
    return to_datetime(us).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_datetime(dt: datetime) -> int:
    """An aware datetime as epoch microseconds (naive datetimes are rejected)."""
    if dt.tzinfo is None:
        raise TimestampError("timestamp_without_zone", "naive datetime: attach a timezone")
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return check_range(delta // timedelta(microseconds=1))
