"""A small progress line on stderr (redrawn in place on a terminal)."""

from __future__ import annotations

import sys
import time


class Progress:
    """``Progress("cloudtrail", total)``; call ``advance()``; ``close()`` at the end."""

    def __init__(self, label: str, total: int | None = None, enabled: bool = True) -> None:
        self.label = label
        self.total = total
        self.count = 0
        self._enabled = enabled
        self._tty = sys.stderr.isatty()
        self._last = 0.0
        self._start = time.monotonic()

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more items; redraw at most ten times a second."""
        self.count += n
        now = time.monotonic()
        if self._enabled and now - self._last > (0.1 if self._tty else 5.0):
            self._last = now
            self._draw()

    def _draw(self, end: str = "") -> None:
        rate = self.count / max(time.monotonic() - self._start, 1e-6)
        if self.total:
            width = 30
            done = int(width * min(self.count / self.total, 1))
            bar = "#" * done + "-" * (width - done)
            text = f"{self.label:<32} [{bar}] {self.count}/{self.total} {rate:,.0f}/s"
        else:
            text = f"{self.label:<32} {self.count} {rate:,.0f}/s"
        sys.stderr.write(("\r" + text if self._tty else text + "\n") + end)
        sys.stderr.flush()

    def close(self) -> None:
        """Draw the final state."""
        if self._enabled:
            self._draw("\n" if self._tty else "")
