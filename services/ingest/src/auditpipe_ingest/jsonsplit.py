"""The source text of each event of a JSON batch, found without parsing the batch whole.

Python's parser gives up on nesting deeper than about a thousand levels, and
gives up on the whole document. When it does, ingest finds where each event
of ``{"events": [...]}`` or ``[...]`` begins and ends with this scanner and
parses the events one by one, so only the event nested too deeply is
rejected. The scanner only tracks strings and brackets; each event's text is
validated by the real parser afterwards.
"""

from __future__ import annotations

import json
import re

_SPACE = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_SCALAR = re.compile(r"[^,:\[\]{}\s]+")
# Runs of openers or closers count as one step, so deep nesting is cheap to skip.
_STEP = re.compile(r'[\[{]+|[\]}]+|"')


def event_texts(text: str) -> list[str]:
    """The text of each event of a batch; ValueError if the batch's frame is not JSON."""
    i = _skip(text, 0)
    if text.startswith("[", i):
        items, i = _array(text, i)
    elif text.startswith("{", i):
        items, i = _events_member(text, i)
    else:
        raise ValueError('expected {"events": [...]} or a JSON array of events')
    if _skip(text, i) != len(text):
        raise ValueError("extra data after the batch")
    return items


def _skip(text: str, i: int) -> int:
    m = _SPACE.match(text, i)
    return m.end() if m else i


def _expect(text: str, i: int, chars: str) -> str:
    if i >= len(text) or text[i] not in chars:
        raise ValueError(f"expected one of {chars!r} at character {i}")
    return text[i]


def _array(text: str, i: int) -> tuple[list[str], int]:
    """Items of the array opening at ``i``, and the index after it."""
    items: list[str] = []
    i = _skip(text, i + 1)
    if text.startswith("]", i):
        return items, i + 1
    while True:
        end = value_end(text, i)
        items.append(text[i:end])
        i = _skip(text, end)
        if _expect(text, i, ",]") == "]":
            return items, i + 1
        i = _skip(text, i + 1)


def _events_member(text: str, i: int) -> tuple[list[str], int]:
    """The items of the ``events`` member of the object opening at ``i``."""
    items: list[str] | None = None
    i = _skip(text, i + 1)
    while not text.startswith("}", i):
        _expect(text, i, '"')
        key_end = value_end(text, i)
        key = json.loads(text[i:key_end])
        i = _skip(text, key_end)
        _expect(text, i, ":")
        i = _skip(text, i + 1)
        if key == "events" and text.startswith("[", i):
            items, i = _array(text, i)
        else:
            i = value_end(text, i)
        i = _skip(text, i)
        if _expect(text, i, ",}") == "}":
            break
        i = _skip(text, i + 1)
        _expect(text, i, '"')  # no trailing comma
    if items is None:
        raise ValueError('expected {"events": [...]} or a JSON array of events')
    return items, i + 1


def value_end(text: str, i: int) -> int:
    """The index just after the JSON value starting at ``i``."""
    if text.startswith('"', i):
        m = _STRING.match(text, i)
        if m is None:
            raise ValueError(f"unterminated string at character {i}")
        return m.end()
    if not text.startswith(("[", "{"), i):
        m = _SCALAR.match(text, i)
        if m is None:
            raise ValueError(f"expected a value at character {i}")
        return m.end()
    depth = 0
    while True:
        m = _STEP.search(text, i)
        if m is None:
            raise ValueError("unbalanced brackets")
        step = m.group()
        if step == '"':
            i = value_end(text, m.start())
            continue
        depth += len(step) if step[0] in "[{" else -len(step)
        i = m.end()
        if depth <= 0:
            return i + depth  # a run of closers may go past the value's own
