"""What every reader shares: the document and report types, and the ``Unreadable`` error."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

MAX_LINE_PROBLEMS = 5  # bad jsonl lines reported one by one; the rest are counted

@dataclass(frozen=True)
class Document:
    """Decoded text of one document; offsets in citations refer to ``text``."""

    name: str
    text: str
    title: str = ""
    # (offset, page number) pairs, ascending, for formats that have pages
    pages: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class SourceFile:
    """A file that was read, with the checksum the index manifest records."""

    path: Path
    name: str
    sha256: str
    size: int


@dataclass
class ReadReport:
    """What reading a set of paths produced, and what it had to skip and why."""

    documents: list[Document] = field(default_factory=list)
    sources: list[SourceFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


class Unreadable(Exception):
    """A file that cannot be turned into text; the message says why."""


def _has_words(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


# A reader: (bytes, document name, problems) -> documents
Reader = Callable[[bytes, str, list[str]], list[Document]]


@contextlib.contextmanager
def _quiet(*loggers: str) -> Iterator[None]:
    """Silence a library's own logging and warnings while it reads a damaged file."""
    saved = [(logging.getLogger(n), logging.getLogger(n).level) for n in loggers]
    for lg, _ in saved:
        lg.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in saved:
            lg.setLevel(level)
