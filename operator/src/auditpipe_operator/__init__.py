"""auditpipe's Kubernetes operator: the ``AuditPipeline`` custom resource, its builders, kopf.

Layout: ``api/`` holds the custom resource's models (the single source of the CRD
schema, see ``crdgen``), ``resources/`` pure functions from a spec to the desired
child manifests, ``kube/`` a small asynchronous Kubernetes client, ``handlers/``
plain async functions that reconcile, and ``main`` the thin kopf registrations.
"""

__version__ = "0.1.0"
