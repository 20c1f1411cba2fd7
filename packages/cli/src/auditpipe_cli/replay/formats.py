"""The replayable formats by name, format detection, and one entry point to read them."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

from auditpipe_cli.replay import cloudtrail, k8s_audit, windows_security
from auditpipe_cli.replay.model import Record, Unmappable
from auditpipe_cli.replay.sources import list_files, open_binary

Reader = Callable[[Path], Iterator[Record | Unmappable]]

FORMATS: dict[str, Reader] = {
    cloudtrail.FORMAT: cloudtrail.read_cloudtrail,
    k8s_audit.FORMAT: k8s_audit.read_k8s_audit,
    windows_security.FORMAT: windows_security.read_windows_security,
}
_SNIFF_BYTES = 64 * 1024
_ALL_SUFFIXES = cloudtrail.SUFFIXES + k8s_audit.SUFFIXES + windows_security.SUFFIXES


class UnknownFormatError(ValueError):
    """The format of a path could not be detected, or the name is not known."""


def detect(path: Path) -> str:
    """The name of the format of ``path`` (a file, or the first candidate file in a directory).

    Decided from the content first (a JSON array or ``{"Records": ...}`` is
    CloudTrail; a first line that is a JSON object with ``EventID`` is Windows
    Security; a first line that is a 15-column CSV row is Kubernetes audit),
    then from the file name. Raises UnknownFormatError.
    """
    files = list_files(path, _ALL_SUFFIXES)
    if not files:
        raise UnknownFormatError(f"no replayable files under {path}")
    file = files[0][0]
    with open_binary(file) as fh:
        head = fh.read(_SNIFF_BYTES).decode("utf-8", errors="replace")
    found = _detect_content(head) or _detect_name(file.name)
    if found is None:
        raise UnknownFormatError(f"cannot tell the format of {file}")
    return found


def _detect_content(head: str) -> str | None:
    text = head.lstrip("\ufeff \t\r\n")
    if text.startswith("[") or text.replace(" ", "").startswith('{"Records"'):
        return cloudtrail.FORMAT
    first_line = text.split("\n", 1)[0]
    if text.startswith("{"):
        try:
            obj = json.loads(first_line)
        except ValueError:
            return None
        if isinstance(obj, dict) and "Records" in obj:
            return cloudtrail.FORMAT
        if isinstance(obj, dict) and "EventID" in obj:
            return windows_security.FORMAT
        return None
    row = next(csv.reader(io.StringIO(first_line)), [])
    return k8s_audit.FORMAT if len(row) == len(k8s_audit.COLUMNS) else None


def _detect_name(name: str) -> str | None:
    for fmt, suffixes in (
        (k8s_audit.FORMAT, k8s_audit.SUFFIXES),
        (windows_security.FORMAT, windows_security.SUFFIXES),
        (cloudtrail.FORMAT, cloudtrail.SUFFIXES),
    ):
        if name.endswith(suffixes):
            return fmt
    return None


def read(path: Path, fmt: str | None = None) -> Iterator[Record | Unmappable]:
    """Map every record at ``path`` in format ``fmt`` (detected when None)."""
    name = fmt or detect(path)
    reader = FORMATS.get(name)
    if reader is None:
        known = ", ".join(sorted(FORMATS))
        raise UnknownFormatError(f"unknown format {name!r}; known: {known}")
    return reader(path)
