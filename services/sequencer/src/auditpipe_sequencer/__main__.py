"""``python -m auditpipe_sequencer``: run the sequencer from environment settings."""

from __future__ import annotations

from auditpipe_common.http import serve
from auditpipe_common.logging import configure_logging
from auditpipe_sequencer.app import create_app
from auditpipe_sequencer.settings import SequencerSettings


def main() -> None:
    """Entry point."""
    settings = SequencerSettings()
    configure_logging(settings.log_format, settings.log_level, "sequencer")
    serve(create_app(settings), settings.host, settings.port)


if __name__ == "__main__":
    main()
