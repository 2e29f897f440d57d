"""The append-only run journal: one JSON object a line, each flushed and fsynced on append.

A process killed mid-write can leave one torn last line; reading drops it (and opening for
append cuts it off), so the journal always holds whole records, and every record that was
appended before a crash is still there after it.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from nas_search.errors import ResultsError

JOURNAL = "journal.jsonl"


def read_journal(path: Path) -> tuple[list[dict[str, Any]], int]:
    """Whole records of a journal and the byte length they span (a torn tail excluded)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return [], 0
    except OSError as exc:
        reason = "is a symbolic link" if exc.errno == errno.ELOOP else exc.strerror
        raise ResultsError(f"{path}: cannot be read ({reason})") from None
    try:
        with os.fdopen(fd, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ResultsError(f"{path}: cannot be read ({exc.strerror})") from None
    records: list[dict[str, Any]] = []
    *complete, _torn_tail = data.split(b"\n")  # the part after the last newline is torn
    for number, line in enumerate(complete, start=1):
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            raise ResultsError(f"{path}: line {number}: not a JSON record; the journal is corrupt")
        records.append(record)
    good = sum(len(line) + 1 for line in complete)
    return records, good


class Journal:
    """Append-only writer; every :meth:`append` is on disk when it returns. One writer at a
    time: the file is locked while open (the lock goes with the process, however it ends)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        new = not self.path.exists()
        try:  # never through a symbolic link: it would write to a file outside the run
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            reason = "is a symbolic link" if exc.errno == errno.ELOOP else exc.strerror
            raise ResultsError(f"{self.path}: cannot be opened ({reason})") from None
        self._file = os.fdopen(fd, "ab")
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._file.close()
            raise ResultsError(
                f"{self.path}: another nas-search process is writing this run; wait for it "
                "to end, or stop it, before resuming"
            ) from None
        self.records, length = read_journal(self.path)
        if self._file.tell() != length:
            self._file.truncate(length)
            self._file.seek(length)
        if new:
            fsync_dir(self.path.parent)

    def append(self, record: Mapping[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        self._file.write(line.encode() + b"\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self.records.append(dict(record))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that a reader never sees half a file. The temporary
    file is created afresh (never through a link left in its place) and removed if writing
    fails (a full disk, say); ``path`` then keeps its old content."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.unlink()
    except FileNotFoundError:
        pass
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
