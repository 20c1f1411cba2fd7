"""Errors of the tamper-evidence library.

Every failure is a :class:`TlogError`; the subclasses say which kind, so a
caller (or the CLI) can tell *the input is malformed* from *the input is well
formed but does not verify*. Messages are meant to be shown to a person.
"""

from __future__ import annotations

from auditpipe_common.errors import AuditpipeError


class TlogError(AuditpipeError, ValueError):
    """Base class of every tamper-evidence error."""


class FormatError(TlogError):
    """Malformed input: a note, checkpoint, key, leaf, proof or bundle that cannot be parsed."""


class ProofError(TlogError):
    """A well-formed Merkle proof that does not prove what it claims."""


class SignatureError(TlogError):
    """A note without a valid signature from a trusted key, or with a bad one."""
