"""A small asynchronous Kubernetes client: server-side apply, get, list, delete, status.

kopf is not a client library, and the official client's asyncio flavour is
untyped; the operator needs six calls, so it has its own (over aiohttp, which
kopf already uses), authenticated the way kopf is (:mod:`.login`).
"""

from auditpipe_operator.kube.client import Kube, ObjectRef
from auditpipe_operator.kube.errors import KubeError

__all__ = ["Kube", "KubeError", "ObjectRef"]
