"""Plain async functions behind the kopf registrations in :mod:`auditpipe_operator.main`.

They take explicit arguments (a :class:`~auditpipe_operator.kube.Kube`, the object
body, the config, a logger), so they are tested without kopf and without a cluster.
"""
