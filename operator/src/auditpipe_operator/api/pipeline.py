"""One ``AuditPipeline`` object as the builders see it: identity plus validated spec."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auditpipe_operator.api.constants import API_VERSION, KIND
from auditpipe_operator.api.spec import AuditPipelineSpec


@dataclass(frozen=True)
class Pipeline:
    """The identity of an AuditPipeline and its parsed spec."""

    name: str
    namespace: str
    uid: str
    generation: int
    spec: AuditPipelineSpec

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Pipeline:
        """Parse an object as read from the API server (raises pydantic's ValidationError)."""
        meta = body.get("metadata", {})
        return cls(
            name=str(meta["name"]),
            namespace=str(meta.get("namespace") or "default"),
            uid=str(meta.get("uid", "")),
            generation=int(meta.get("generation", 0)),
            spec=AuditPipelineSpec.model_validate(body.get("spec") or {}),
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
