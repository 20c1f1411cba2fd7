"""Generate the ``AuditPipeline`` CRD from the API models (``python -m ...crdgen``)."""
