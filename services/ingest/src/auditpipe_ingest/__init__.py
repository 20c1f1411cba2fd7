"""auditpipe ingest: validates audit event batches and queues them in Redis Streams."""
