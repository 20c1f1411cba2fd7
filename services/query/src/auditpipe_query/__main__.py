"""``python -m auditpipe_query``: run the query API from environment settings."""

from __future__ import annotations

from auditpipe_common.http import serve
from auditpipe_common.logging import configure_logging
from auditpipe_query.app import create_app
from auditpipe_query.settings import QuerySettings


def main() -> None:
    """Entry point."""
    settings = QuerySettings()
    configure_logging(settings.log_format, settings.log_level, "query")
    serve(create_app(settings), settings.host, settings.port)


if __name__ == "__main__":
    main()
