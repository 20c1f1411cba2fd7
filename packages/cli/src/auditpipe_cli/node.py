"""The local store node: the worker and the query API in one process.

chDB allows one process per data directory, so on one machine the process
that writes the store (worker) is also the one that reads it (query API).
With a ClickHouse server they run as separate deployments instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator

import uvicorn

from auditpipe_common.logging import configure_logging
from auditpipe_common.redisconn import connect
from auditpipe_common.store import open_store
from auditpipe_query.app import create_app
from auditpipe_query.settings import QuerySettings
from auditpipe_worker.consumer import Worker
from auditpipe_worker.settings import WorkerSettings


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: this process stops both parts."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def run(wsettings: WorkerSettings, qsettings: QuerySettings) -> None:
    """Run worker and query API until SIGINT/SIGTERM."""
    store = await asyncio.to_thread(open_store, wsettings)
    redis = connect(wsettings.redis_url)
    worker = Worker(wsettings, redis, store)
    app = create_app(qsettings, store=store)
    server = _Server(
        uvicorn.Config(
            app, host=qsettings.host, port=qsettings.port, log_level="warning", access_log=False
        )
    )

    def stop() -> None:
        worker.stop()
        server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    try:
        await asyncio.gather(worker.run(), server.serve())
    finally:
        await redis.aclose()
        store.close()


def main() -> None:
    """Entry point: ``python -m auditpipe_cli.node``."""
    wsettings = WorkerSettings()
    qsettings = QuerySettings()
    configure_logging(wsettings.log_format, wsettings.log_level, "store-node")
    asyncio.run(run(wsettings, qsettings))


if __name__ == "__main__":
    main()
