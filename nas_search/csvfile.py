"""Reading files the user names (space and run files, results and lookup tables) strictly:
every problem is one line naming the file (and, in a CSV, the line), never its content."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from typing import TYPE_CHECKING

from nas_search.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd


def read_bytes(path: Path, label: str, error: type[UsageError], what: str = "file") -> bytes:
    """The bytes of a file the user named; a problem is one line starting with ``label``."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise error(f"{label}: no such file") from None
    except IsADirectoryError:
        raise error(f"{label}: is a directory, not a {what}") from None
    except OSError as exc:
        raise error(f"{label}: cannot be read ({exc.strerror})") from None


def read_text(path: Path, label: str, error: type[UsageError], what: str = "file") -> str:
    """:func:`read_bytes` decoded as UTF-8 (anything else: "not a text file")."""
    try:
        return read_bytes(path, label, error, what).decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{label}: not a text file (it is not UTF-8)") from None


def read_csv(path: Path, label: str, error: type[UsageError]) -> pd.DataFrame:
    """``path`` (plain or ``.gz``) as a DataFrame. ``label`` starts each message (the file, or
    the field that named it); ``error`` is the error class raised."""
    import pandas as pd

    data = read_bytes(path, label, error, "CSV file")
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError):
            raise error(f"{label}: a damaged gzip file") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise error(f"{label}: not a CSV text file (it is not UTF-8)") from None
    if "\x00" in text:
        raise error(f"{label}: not a CSV text file (it holds NUL bytes)") from None
    try:
        rows = csv.reader(io.StringIO(text))
        header = next(rows, None)
        if not header:
            raise error(f"{label}: empty (no header row)")
        for row in rows:
            if row and len(row) != len(header):
                raise error(
                    f"{label}: line {rows.line_num}: {len(row)} fields where the header has "
                    f"{len(header)}"
                )
    except csv.Error as exc:
        raise error(f"{label}: line {rows.line_num}: not valid CSV ({exc})") from None
    try:
        return pd.read_csv(io.StringIO(text))
    except (ValueError, pd.errors.ParserError) as exc:
        lines = str(exc).splitlines()
        raise error(f"{label}: not a readable CSV ({lines[0][:120] if lines else exc})") from None
