"""auditpipe query API: filters, cursor pagination and export of stored events."""
