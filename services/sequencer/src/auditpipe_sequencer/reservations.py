"""Durable per-tenant reservations: the high-water mark that survives Redis.

The sequencer never hands out a number above a tenant's *reservation*, and it
raises the reservation (durably, before answering) whenever a range would
cross it. So the reservation is always at least every number ever handed out,
by any sequencer instance sharing the store. When Redis comes back with less
than it had (a restart that lost its last writes, a failover to a lagging
replica), allocation resumes above the reservation: gaps, never repeats.

:class:`FileReservations` keeps them in one JSON file, replaced atomically
(write, fsync, rename, fsync the folder) under an exclusive ``flock``, so
several sequencer processes on one host share it safely. Another store (a
Kubernetes object with compare-and-swap, a database row) only has to provide
the same two methods.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Protocol


class Reservations(Protocol):
    """Where reservations live."""

    def read(self, tenant: str) -> int:
        """The current reservation of ``tenant`` (0 if none)."""
        ...

    def raise_to(self, tenant: str, value: int) -> int:
        """Durably raise the reservation to at least ``value``; returns the new value."""
        ...


class FileReservations:
    """Reservations in a JSON file, safe for several processes on one host."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_path = path.with_suffix(path.suffix + ".lock")

    def _load(self) -> dict[str, int]:
        try:
            data: dict[str, int] = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return data

    def read(self, tenant: str) -> int:
        """The current reservation of ``tenant`` (0 if none)."""
        with self._locked():
            return int(self._load().get(tenant, 0))

    def raise_to(self, tenant: str, value: int) -> int:
        """Durably raise the reservation to at least ``value``; returns the new value."""
        with self._locked():
            data = self._load()
            if data.get(tenant, 0) >= value:
                return int(data[tenant])
            data[tenant] = value
            tmp = self.path.with_suffix(".tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(data, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
            return value

    def _locked(self) -> _FileLock:
        return _FileLock(self._lock_path)


class _FileLock:
    """An exclusive advisory lock on a file, as a context manager."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd = -1

    def __enter__(self) -> None:
        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
