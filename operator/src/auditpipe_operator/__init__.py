"""auditpipe."""
