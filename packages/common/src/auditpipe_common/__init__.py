"""auditpipe shared core: schema, settings, logging, Redis streams, store, API keys."""
