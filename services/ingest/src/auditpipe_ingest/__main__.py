"""``python -m auditpipe_ingest``: run ingest from environment settings."""

from __future__ import annotations

from auditpipe_common.http import serve
from auditpipe_common.logging import configure_logging
from auditpipe_ingest.app import create_app
from auditpipe_ingest.settings import IngestSettings


def main() -> None:
    """Entry point."""
    settings = IngestSettings()
    configure_logging(settings.log_format, settings.log_level, "ingest")
    serve(create_app(settings), settings.host, settings.port)


if __name__ == "__main__":
    main()
