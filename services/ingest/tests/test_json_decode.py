"""JSON bodies: one bad event is rejected alone, whatever is wrong with it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from auditpipe_ingest.decode import BatchError, Decoded, decode_json
from auditpipe_ingest.jsonsplit import event_texts


def event(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "idempotency_key": f"018bcfe5-6800-704c-9ced-9736a69da6{n:02d}",
        "seq": n,
        "occurred_at": "2024-01-01T00:00:00Z",
        "action": "doc.read",
        "actor": {"id": "u"},
        **fields,
    }


def body(*parts: str, wrap: bool = False) -> bytes:
    text = "[" + ",".join(parts) + "]"
    return (f'{{"events": {text}}}' if wrap else text).encode()


def verdicts(decoded: list[Decoded]) -> list[tuple[str, str] | str]:
    """Per event: its key if it decoded, else (code, field)."""
    return [
        d.event.idempotency_key if d.event else (d.error.code, d.error.field)  # type: ignore[union-attr]
        for d in decoded
    ]


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


GOOD1, GOOD3 = json.dumps(event(1)), json.dumps(event(3))
KEY1, KEY3 = event(1)["idempotency_key"], event(3)["idempotency_key"]


@pytest.mark.parametrize("wrap", [False, True])
@pytest.mark.parametrize("levels", [985, 100_000])
def test_nesting_deeper_than_the_parser_rejects_only_that_event(levels: int, wrap: bool) -> None:
    bad = json.dumps(event(2, attributes={"a": []})).replace("[]", deep(levels))
    decoded = decode_json(body(GOOD1, bad, GOOD3, wrap=wrap))
    assert verdicts(decoded)[0::2] == [KEY1, KEY3]
    assert decoded[1].error is not None
    assert decoded[1].error.code == "too_deep"


def test_bytes_that_are_not_utf8_reject_only_their_event() -> None:
    bad = json.dumps(event(2, actor={"id": "caf__"})).encode().replace(b"__", b"\xe9!")
    raw = b"[" + GOOD1.encode() + b"," + bad + b"," + GOOD3.encode() + b"]"
    decoded = decode_json(raw)
    assert verdicts(decoded) == [KEY1, ("invalid_utf8", "actor.id"), KEY3]
    assert decoded[1].key == event(2)["idempotency_key"]
    assert decoded[1].error is not None
    assert "U+DCE9" in decoded[1].error.reason


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"action": "a\ud800"}, "action"),
        ({"resource": {"name": "\udfff"}}, "resource.name"),
        ({"attributes": {"k": "x\udc00"}}, "attributes"),
        ({"attributes": {"\ud83d": 1}}, "attributes"),
    ],
)
def test_lone_surrogate_escapes_are_invalid_utf8(fields: dict[str, Any], field: str) -> None:
    bad = json.dumps(event(2, **fields))  # ensure_ascii: written as \\udXXX escapes
    assert verdicts(decode_json(body(GOOD1, bad))) == [KEY1, ("invalid_utf8", field)]


def test_bytes_that_are_not_utf8_outside_strings_make_the_body_invalid() -> None:
    with pytest.raises(BatchError) as exc:
        decode_json(b"[" + GOOD1.encode() + b",\xff]")
    assert (exc.value.status, exc.value.reason[:12]) == (400, "invalid JSON")


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('"action": "a", "action": "b"', "action"),
        ('"resource": {"id": "u", "id": "v"}', "resource.id"),
        ('"actor": {"id": "v"}', "actor"),
        ('"attributes": {"list": [{"k": 1, "k": 2}]}', "attributes.list[0].k"),
    ],
)
def test_a_key_named_twice_in_one_event_is_rejected_with_its_path(text: str, field: str) -> None:
    bad = json.dumps(event(2)).removesuffix("}") + ", " + text + "}"
    decoded = decode_json(body(GOOD1, bad, GOOD3))
    assert verdicts(decoded) == [KEY1, ("duplicate_field", field), KEY3]


def test_a_byte_order_mark_is_accepted() -> None:
    assert verdicts(decode_json("\ufeff".encode() + body(GOOD1))) == [KEY1]


def test_the_scanner_finds_events_around_strings_that_contain_brackets() -> None:
    items = ['{"a": "]}\\"[{"}', "[[], {}]", '"x"', "-1.5e3", "null"]
    text = '  {"other": [1, {"events": 2}], "events" : [ ' + " , ".join(items) + " ] }\n"
    assert event_texts(text) == items
    assert event_texts("[]") == []


@pytest.mark.parametrize(
    "text",
    [
        '{"events": 5}',
        "[1,]",
        "[1 2]",
        '[{"a": "b]',
        "[[[",
        "[1] x",
        "5",
        '{"x": []}',
        '{"events": [],}',
    ],
)
def test_the_scanner_refuses_a_batch_it_cannot_frame(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        event_texts(text)
