"""``python -m auditpipe_worker``: run the worker from environment settings."""

from __future__ import annotations

import asyncio
import signal

from auditpipe_common.logging import configure_logging
from auditpipe_common.redisconn import connect
from auditpipe_common.store import open_store
from auditpipe_worker.consumer import Worker
from auditpipe_worker.settings import WorkerSettings


async def run(settings: WorkerSettings) -> None:
    """Run one worker until SIGINT or SIGTERM."""
    store = await asyncio.to_thread(open_store, settings)
    redis = connect(settings.redis_url)
    worker = Worker(settings, redis, store)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, worker.stop)
    try:
        await worker.run()
    finally:
        await redis.aclose()
        store.close()


def main() -> None:
    """Entry point."""
    settings = WorkerSettings()
    configure_logging(settings.log_format, settings.log_level, "worker")
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
