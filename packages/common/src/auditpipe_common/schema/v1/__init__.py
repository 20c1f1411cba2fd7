"""Generated protobuf modules of schema version 1."""
