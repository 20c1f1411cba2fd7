"""The ``AuditPipeline`` custom resource (``auditpipe.dev/v1alpha1``) as pydantic models."""

from auditpipe_operator.api.pipeline import Pipeline
from auditpipe_operator.api.spec import AuditPipelineSpec
from auditpipe_operator.api.status import AuditPipelineStatus, Condition, ConditionType

__all__ = ["AuditPipelineSpec", "AuditPipelineStatus", "Condition", "ConditionType", "Pipeline"]
