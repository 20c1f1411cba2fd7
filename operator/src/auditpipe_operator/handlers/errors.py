"""API errors as kopf outcomes: retry soon, retry later, or stop until the spec changes."""

from __future__ import annotations

import kopf

from auditpipe_operator.kube.errors import KubeError


def reason_of(error: KubeError) -> str:
    """A condition reason (CamelCase) for an API error."""
    if error.invalid:
        return "Invalid"
    if error.forbidden:
        return "Forbidden"
    if error.not_found:
        return "NotFound"
    if error.transient:
        return "ApiUnavailable"
    if error.conflict:
        return "Conflict"
    return "ApiError"


def as_kopf_error(
    error: KubeError, retry_seconds: float
) -> kopf.TemporaryError | kopf.PermanentError:
    """TemporaryError for what may pass (RBAC fixed, CRD installed, server back), else Permanent."""
    message = f"{reason_of(error)}: {error}"
    if error.invalid:
        return kopf.PermanentError(message)
    if error.forbidden or error.not_found:
        return kopf.TemporaryError(message, delay=max(retry_seconds, 30.0))
    return kopf.TemporaryError(message, delay=retry_seconds)
