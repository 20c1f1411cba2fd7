"""auditpipe worker: moves event batches from Redis Streams into ClickHouse exactly once."""
