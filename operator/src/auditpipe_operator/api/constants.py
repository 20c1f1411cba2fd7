"""Names of the ``AuditPipeline`` custom resource and the operator's own marks."""

from __future__ import annotations

GROUP = "auditpipe.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "AuditPipeline"
PLURAL = "auditpipelines"
SINGULAR = "auditpipeline"
SHORT_NAMES = ("ap", "apipe")
CRD_NAME = f"{PLURAL}.{GROUP}"

FIELD_MANAGER = "auditpipe-operator"
FINALIZER = f"{GROUP}/finalizer"
MANAGED_BY = "auditpipe-operator"

# Labels and annotations the operator puts on what it creates.
LABEL_NAME = "app.kubernetes.io/name"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_VERSION = "app.kubernetes.io/version"
LABEL_PIPELINE = f"{GROUP}/pipeline"
ANNOTATION_SETTINGS_HASH = f"{GROUP}/settings-hash"
ANNOTATION_RETAINED = f"{GROUP}/retained-from"
# On the generated public-keys ConfigMap: "pending" until the signing Secret with the
# matching private keys exists, then "issued" (the operator never reads that Secret).
ANNOTATION_SIGNING_KEYS = f"{GROUP}/signing-keys"
# On the AuditPipeline (set by the operator) and on the pod templates of worker, ingest and
# query: a digest of the trusted public keys, so a change of keys rolls those pods.
ANNOTATION_LOG_KEYS = f"{GROUP}/log-keys"
# On the AuditPipeline: the ordinal of the Redis pod that is the primary (default 0). The
# operator sets it when it promotes a replica; a person may set it to fail over by hand.
ANNOTATION_REDIS_PRIMARY = f"{GROUP}/redis-primary"

# Longest AuditPipeline name: children add suffixes (``-redis-headless``) and
# StatefulSet pods add ordinals and a revision hash label, within 63 characters.
MAX_NAME_LENGTH = 40
