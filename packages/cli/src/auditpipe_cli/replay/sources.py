"""Reading source files: which files, how to open them, exact JSON parsing."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

from auditpipe_cli.replay.model import DuplicateKeyDict


class SourceError(ValueError):
    """Source text that cannot be parsed; the message says why."""


def list_files(path: Path, suffixes: tuple[str, ...]) -> list[tuple[Path, str]]:
    """The files to read under ``path`` with the name to report them by.

    A file is read whatever its name. A directory is searched recursively for
    files whose names end with one of ``suffixes``, in sorted order of their
    paths relative to ``path`` (which is also the name reported).
    """
    if path.is_file():
        return [(path, path.name)]
    if not path.is_dir():
        raise FileNotFoundError(f"no such file or directory: {path}")
    found = [
        (p.relative_to(path).as_posix(), p)
        for p in path.rglob("*")
        if p.is_file() and p.name.endswith(suffixes)
    ]
    return [(p, name) for name, p in sorted(found)]


def open_binary(path: Path) -> gzip.GzipFile | io.BufferedReader:
    """Open ``path`` for reading bytes, decompressing it if its name ends in .gz."""
    if path.name.endswith(".gz"):
        return gzip.GzipFile(path, "rb")
    return path.open("rb")


def _object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    flagged = DuplicateKeyDict(obj)
    seen: set[str] = set()
    flagged.duplicates = []
    for key, _ in pairs:
        if key in seen:
            flagged.duplicates.append(key)
        seen.add(key)
    return flagged


def _reject_constant(name: str) -> Any:
    raise SourceError(f"{name} is not valid JSON")


def loads_exact(data: bytes | str) -> Any:
    """Parse JSON keeping every integer exact (Python ``int``) and every key.

    ``NaN``/``Infinity`` are rejected; an object with a repeated key becomes a
    :class:`DuplicateKeyDict` so the record can be reported instead of losing
    a value. Raises :class:`SourceError` with the reason.
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text, object_pairs_hook=_object_pairs, parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise SourceError(f"invalid UTF-8: {exc}") from None
    except json.JSONDecodeError as exc:
        raise SourceError(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise SourceError("invalid JSON: nested too deeply to parse") from None


def text_field(obj: dict[str, Any], key: str) -> str:
    """``obj[key]`` if it is a string, else ``""`` (absent, null or another type)."""
    value = obj.get(key)
    return value if isinstance(value, str) else ""


def sub_object(obj: dict[str, Any], key: str) -> dict[str, Any]:
    """``obj[key]`` if it is a JSON object, else an empty dict."""
    value = obj.get(key)
    return value if isinstance(value, dict) else {}
