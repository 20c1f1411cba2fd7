"""One ``AuditPipeline`` object as the builders see it: identity plus validated spec."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auditpipe_operator.api.constants import (
    ANNOTATION_LOG_KEYS,
    ANNOTATION_REDIS_PRIMARY,
    API_VERSION,
    KIND,
)
from auditpipe_operator.api.spec import AuditPipelineSpec


@dataclass(frozen=True)
class Pipeline:
    """The identity of an AuditPipeline and its parsed spec."""

    name: str
    namespace: str
    uid: str
    generation: int
    spec: AuditPipelineSpec
    redis_primary: int = 0
    log_keys_digest: str = ""  # of the trusted public keys, as the operator last saw them

    @property
    def redis_pods(self) -> int:
        """Redis pods to run: the spec's replicas, and never fewer than the primary needs."""
        return max(self.spec.redis.replicas, self.redis_primary + 1)

    @property
    def log_deployment(self) -> str:
        """The ``<deployment>`` of every log origin: the spec's, else ``<namespace>.<name>``."""
        return self.spec.tamper_evidence.deployment or f"{self.namespace}.{self.name}"

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Pipeline:
        """Parse an object as read from the API server.

        Raises ``ValueError`` (pydantic's ValidationError is one) for an invalid spec or
        ``auditpipe.dev/redis-primary`` annotation.
        """
        meta = body.get("metadata", {})
        return cls(
            name=str(meta["name"]),
            namespace=str(meta.get("namespace") or "default"),
            uid=str(meta.get("uid", "")),
            generation=int(meta.get("generation", 0)),
            spec=AuditPipelineSpec.model_validate(body.get("spec") or {}),
            redis_primary=redis_primary_of(meta),
            log_keys_digest=str((meta.get("annotations") or {}).get(ANNOTATION_LOG_KEYS, "")),
        )

    def owner_reference(self) -> dict[str, Any]:
        """The controller owner reference children carry."""
        return {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


def redis_primary_of(meta: Mapping[str, Any]) -> int:
    """The Redis primary's ordinal from the annotation (0 without it); ValueError if bad."""
    raw = (meta.get("annotations") or {}).get(ANNOTATION_REDIS_PRIMARY, "0")
    text = str(raw).strip()
    if not text.isdigit() or int(text) > 4:
        raise ValueError(f"annotation {ANNOTATION_REDIS_PRIMARY}={raw!r}: want an ordinal 0-4")
    return int(text)
