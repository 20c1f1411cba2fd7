"""Tamper evidence for auditpipe: a verifiable Merkle log per tenant.

* :mod:`.merkle` — RFC 6962/9162 hashing and proof verification;
* :mod:`.compact` — the writer's append-only tree state (compact range);
* :mod:`.proofs` — tree roots and proofs computed from stored leaf hashes;
* :mod:`.leaf`, :mod:`.leafjson` — the canonical byte encoding of a stored event, its JSON form;
* :mod:`.note`, :mod:`.checkpoint`, :mod:`.keys` — C2SP signed notes,
  ``tlog-checkpoint`` checkpoints, Ed25519 key files;
* :mod:`.receipt` — signed receipts of accepted events;
* :mod:`.bundle`, :mod:`.verify`, :mod:`.cli` — proof bundles and the offline verifier;
* :mod:`.audit` — rebuilding a stored log and naming the first damage.

``docs/verification.md`` specifies every format; ``docs/vectors/`` has test vectors.
"""

from auditpipe_common.tlog.audit import (
    AuditResult,
    Damage,
    Finding,
    LogAuditor,
    audit_log,
    check_checkpoints,
)
from auditpipe_common.tlog.bundle import ConsistencyBundle, InclusionBundle
from auditpipe_common.tlog.checkpoint import (
    Checkpoint,
    SignedCheckpoint,
    log_origin,
    open_checkpoint,
    origin_tenant,
    parse_checkpoint_body,
    sign_checkpoint,
)
from auditpipe_common.tlog.compact import CompactRange
from auditpipe_common.tlog.errors import FormatError, ProofError, SignatureError, TlogError
from auditpipe_common.tlog.keys import (
    generate_key_file,
    load_private_key,
    load_signer,
    parse_private_key,
    parse_public_key,
    private_key_pem,
    public_key_text,
    verifier_key,
    verifiers_for,
)
from auditpipe_common.tlog.leaf import decode_leaf, event_bytes, event_hash, leaf_bytes, leaf_hash
from auditpipe_common.tlog.leafjson import leaf_from_json, leaf_json
from auditpipe_common.tlog.merkle import (
    EMPTY_ROOT,
    hash_children,
    hash_leaf,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from auditpipe_common.tlog.note import Note, Signer, Verifier, open_note, sign_note
from auditpipe_common.tlog.proofs import (
    MemoryTree,
    consistency_proof,
    inclusion_proof,
    range_root,
    tree_root,
)
from auditpipe_common.tlog.receipt import (
    BatchReceipt,
    EventReceipt,
    Receipt,
    event_receipts,
    open_receipt,
    receipt_key_name,
    sign_batch_receipt,
    verify_event_receipt,
)
from auditpipe_common.tlog.verify import (
    ConsistencyResult,
    InclusionResult,
    verify_checkpoint_consistency,
    verify_consistency_bundle,
    verify_event_inclusion,
    verify_inclusion_bundle,
    verify_receipt_inclusion,
)

__all__ = [
    "EMPTY_ROOT", "AuditResult", "BatchReceipt", "Checkpoint", "CompactRange", "ConsistencyBundle",
    "ConsistencyResult", "Damage", "EventReceipt", "Finding", "FormatError", "InclusionBundle",
    "InclusionResult", "LogAuditor", "MemoryTree", "Note", "ProofError", "Receipt",
    "SignatureError", "SignedCheckpoint", "Signer", "TlogError", "Verifier", "audit_log",
    "check_checkpoints", "consistency_proof", "decode_leaf", "event_bytes", "event_hash",
    "event_receipts", "generate_key_file", "hash_children", "hash_leaf", "inclusion_proof",
    "leaf_bytes", "leaf_from_json", "leaf_hash", "leaf_json", "load_private_key", "load_signer",
    "log_origin", "open_checkpoint", "open_note", "open_receipt", "origin_tenant",
    "parse_checkpoint_body", "parse_private_key", "parse_public_key", "private_key_pem",
    "public_key_text", "range_root", "receipt_key_name", "root_from_inclusion_proof",
    "sign_batch_receipt", "sign_checkpoint", "sign_note", "tree_root",
    "verifier_key", "verifiers_for", "verify_checkpoint_consistency", "verify_consistency",
    "verify_consistency_bundle", "verify_event_inclusion", "verify_event_receipt",
    "verify_inclusion", "verify_inclusion_bundle", "verify_receipt_inclusion",
]  # fmt: skip
