"""JSON proof bundles: everything a third party needs to check a proof offline.

Inclusion bundle (one event is in a tenant's log)::

    {"format": "auditpipe/inclusion-proof/v1",
     "checkpoint": "<signed checkpoint note, verbatim>",
     "leaf_index": <position of the event in the log>,
     "leaf": "<base64 canonical leaf bytes>",
     "proof": ["<base64 hash>", ...]}

Consistency bundle (a later checkpoint extends an earlier one)::

    {"format": "auditpipe/consistency-proof/v1",
     "old_checkpoint": "<signed note>", "new_checkpoint": "<signed note>",
     "proof": ["<base64 hash>", ...]}

The tree sizes and roots come from the checkpoints, never from the bundle.
Serialised with two-space indentation, keys in this order, UTF-8, final newline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from auditpipe_common.tlog.codec import b64, decode_b64, dumps
from auditpipe_common.tlog.errors import FormatError

INCLUSION_FORMAT = "auditpipe/inclusion-proof/v1"
CONSISTENCY_FORMAT = "auditpipe/consistency-proof/v1"


def load_json(data: str | bytes, what: str) -> Any:
    """Parse JSON text, raising FormatError (not ValueError) when it is not JSON."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise FormatError(f"{what} is not valid JSON: {exc}") from None


def fields(obj: Any, fmt: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """``obj`` if it is an object of format ``fmt`` with exactly ``keys`` besides "format"."""
    if not isinstance(obj, dict) or obj.get("format") != fmt:
        raise FormatError(f'not a proof bundle of format "{fmt}"')
    missing, extra = sorted(set(keys) - set(obj)), sorted(set(obj) - set(keys) - {"format"})
    if missing or extra:
        raise FormatError(
            f"bundle {'lacks ' + missing[0] if missing else 'has unknown ' + extra[0]}"
        )
    return obj


def text_field(obj: dict[str, Any], key: str) -> str:
    """The string value of ``key``, FormatError if it is not a string."""
    value = obj[key]
    if not isinstance(value, str):
        raise FormatError(f"bundle field {key} must be a string")
    return value


def parse_proof_hashes(value: Any) -> tuple[bytes, ...]:
    """A proof: a JSON list of base64 hashes (length is checked by the verifier)."""
    if not isinstance(value, list) or not all(isinstance(h, str) for h in value):
        raise FormatError("a proof is a list of base64 strings")
    return tuple(decode_b64(h, f"proof[{i}]") for i, h in enumerate(value))


@dataclass(frozen=True)
class InclusionBundle:
    """A checkpoint, one leaf and the proof that the leaf is in the checkpoint's tree."""

    checkpoint: str
    leaf_index: int
    leaf: bytes
    proof: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        """The bundle as a JSON object."""
        return {
            "format": INCLUSION_FORMAT, "checkpoint": self.checkpoint,
            "leaf_index": self.leaf_index, "leaf": b64(self.leaf),
            "proof": [b64(h) for h in self.proof],
        }  # fmt: skip

    def dumps(self) -> str:
        """The bundle as JSON text (the file format)."""
        return dumps(self.to_json())

    @classmethod
    def from_json(cls, obj: Any) -> InclusionBundle:
        """Parse a bundle object, raising FormatError if it is malformed."""
        obj = fields(obj, INCLUSION_FORMAT, ("checkpoint", "leaf_index", "leaf", "proof"))
        index = obj["leaf_index"]
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 2**64:
            raise FormatError("bundle leaf_index must be an integer in [0, 2^64)")
        leaf = decode_b64(text_field(obj, "leaf"), "bundle leaf")
        return cls(text_field(obj, "checkpoint"), index, leaf, parse_proof_hashes(obj["proof"]))

    @classmethod
    def loads(cls, data: str | bytes) -> InclusionBundle:
        """Parse bundle JSON text."""
        return cls.from_json(load_json(data, "inclusion bundle"))


@dataclass(frozen=True)
class ConsistencyBundle:
    """Two checkpoints of one log and the proof that the newer extends the older."""

    old_checkpoint: str
    new_checkpoint: str
    proof: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        """The bundle as a JSON object."""
        return {
            "format": CONSISTENCY_FORMAT, "old_checkpoint": self.old_checkpoint,
            "new_checkpoint": self.new_checkpoint, "proof": [b64(h) for h in self.proof],
        }  # fmt: skip

    def dumps(self) -> str:
        """The bundle as JSON text (the file format)."""
        return dumps(self.to_json())

    @classmethod
    def from_json(cls, obj: Any) -> ConsistencyBundle:
        """Parse a bundle object, raising FormatError if it is malformed."""
        obj = fields(obj, CONSISTENCY_FORMAT, ("old_checkpoint", "new_checkpoint", "proof"))
        old, new = text_field(obj, "old_checkpoint"), text_field(obj, "new_checkpoint")
        return cls(old, new, parse_proof_hashes(obj["proof"]))

    @classmethod
    def loads(cls, data: str | bytes) -> ConsistencyBundle:
        """Parse bundle JSON text."""
        return cls.from_json(load_json(data, "consistency bundle"))
