"""Pure builders: an AuditPipeline spec in, the desired child manifests (dicts) out.

Nothing here talks to the API server or reads the clock or the environment
(the credentials Secret and the signing keys take their random source as an argument).
"""

from auditpipe_operator.resources.config import credentials_secret
from auditpipe_operator.resources.desired import MANAGED_KINDS, desired_state, object_key

__all__ = ["MANAGED_KINDS", "credentials_secret", "desired_state", "object_key"]
