"""Turns files on disk into decoded documents: finds the files, detects encodings, reads each format."""

from __future__ import annotations

import codecs
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}


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


def decode(data: bytes) -> str:
    """Decode bytes as text: BOMs first, then UTF-8, then charset detection."""
    if not data:
        raise Unreadable("empty file")
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"),
                     (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return _clean(data.decode(enc))
            except UnicodeDecodeError as e:
                raise Unreadable(f"not valid {enc} despite its byte-order mark") from e
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = _detect(data)
    if "\x00" in text or _control_ratio(text) > 0.05:
        raise Unreadable("binary file, not text")
    return _clean(text)


def _detect(data: bytes) -> str:
    from charset_normalizer import from_bytes

    if b"\x00" in data[:4096]:
        raise Unreadable("binary file, not text")
    best = from_bytes(data).best()
    if best is None:
        raise Unreadable("unknown text encoding")
    return str(best)


def _control_ratio(text: str) -> float:
    sample = text[:8192]
    if not sample:
        return 0.0
    bad = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
    return bad / len(sample)


def _clean(text: str) -> str:
    # Offsets are defined on text with normalized line ends, so a CRLF file cites like an LF one.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_text(path: Path, name: str) -> list[Document]:
    text = decode(path.read_bytes())
    if not text.strip():
        raise Unreadable("no text in file")
    return [Document(name=name, text=text)]


def read_jsonl(path: Path, name: str) -> list[Document]:
    """A corpus file: each line ``{"id", "title", "text"}``; the id names the document."""
    docs: list[Document] = []
    text = decode(path.read_bytes())
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            doc_id, body = str(rec["id"]), rec["text"]
            if not isinstance(body, str):
                raise TypeError("text is not a string")
        except (ValueError, KeyError, TypeError) as e:
            raise Unreadable(f"line {lineno} is not a {{\"id\", \"title\", \"text\"}} record ({e})") from e
        if body.strip():
            docs.append(Document(name=doc_id, text=_clean(body), title=str(rec.get("title") or "")))
    if not docs:
        raise Unreadable("no records with text")
    return docs


READERS: dict[str, Callable[[Path, str], list[Document]]] = {
    **{s: read_text for s in TEXT_SUFFIXES},
    ".jsonl": read_jsonl,
}


def find_files(root: Path) -> list[Path]:
    """All readable files under a folder, in a stable order; hidden files are left out."""
    return sorted(
        p for p in root.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_paths(paths: list[Path]) -> ReadReport:
    """Read files and folders (recursively); unreadable files are skipped with a reason."""
    report = ReadReport()
    for root in paths:
        if not root.exists():
            report.skipped.append((str(root), "no such file or folder"))
            continue
        if root.is_dir():
            files, base = find_files(root), root
        else:
            files, base = [root], root.parent
        for path in files:
            name = path.relative_to(base).as_posix()
            reader = READERS.get(path.suffix.lower())
            if reader is None:
                if root.is_file() or path.suffix:
                    report.skipped.append((str(path), f"unsupported format '{path.suffix or path.name}'"))
                continue
            try:
                docs = reader(path, name)
            except (Unreadable, OSError) as e:
                report.skipped.append((str(path), str(e)))
                continue
            report.documents.extend(docs)
            report.sources.append(SourceFile(path=path, name=name, sha256=sha256_of(path),
                                             size=path.stat().st_size))
    return report
