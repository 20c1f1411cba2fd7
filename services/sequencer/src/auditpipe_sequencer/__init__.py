"""auditpipe sequencer: hands out strictly increasing per-tenant sequence ranges."""
