"""Replay real audit-log formats through the SDK."""
