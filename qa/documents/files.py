"""Finding files under folders and reading each with the reader for its format.

Every reader takes the file's bytes and returns documents, or raises ``Unreadable`` with a one-line
reason; ``read_paths`` turns that into a skipped entry, so one bad file never stops a whole build.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from qa.documents.base import Document, Reader, ReadReport, SourceFile, Unreadable
from qa.documents.docx import read_docx
from qa.documents.html import read_html
from qa.documents.jsonl import read_jsonl
from qa.documents.pdf import read_pdf
from qa.documents.text import read_text

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
# Formats people try that have no reader, with what to do instead.
CONVERT_HINTS = {
    ".doc": "save it as .docx",
    ".rtf": "save it as .docx or .txt",
    ".odt": "save it as .docx",
    ".pages": "export it as .docx",
    ".ppt": "export it as .pdf",
    ".pptx": "export it as .pdf",
    ".xls": "export it as .csv or .txt",
    ".xlsx": "export it as .csv or .txt",
    ".epub": "convert it to .html or .txt",
    ".json": "write it as .jsonl, one {\"id\", \"title\", \"text\"} record a line",
}

READERS: dict[str, Reader] = {
    **{s: read_text for s in TEXT_SUFFIXES},
    **{s: read_html for s in HTML_SUFFIXES},
    ".jsonl": read_jsonl,
    ".pdf": read_pdf,
    ".docx": read_docx,
}


def find_files(root: Path, skipped: list[tuple[str, str]] | None = None) -> list[Path]:
    """All files under a folder, in a stable order; hidden files and folders are left out.

    Folders that cannot be listed are added to ``skipped``; links to folders are not followed.
    """
    found: list[Path] = []

    def unreadable(e: OSError) -> None:
        if skipped is not None:
            skipped.append((str(e.filename or root), f"cannot list folder: {e.strerror or e}"))

    for folder, dirs, files in os.walk(root, onerror=unreadable):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in files:
            path = Path(folder, f)
            if not f.startswith(".") and path.is_file():
                found.append(path)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _unsupported(path: Path) -> str:
    suffix = path.suffix.lower()
    hint = CONVERT_HINTS.get(suffix)
    return f"unsupported format '{path.suffix or path.name}'" + (f": {hint}" if hint else "")


def _unique(name: str, source: str, base: Path, path: Path, taken: set[str]) -> str | None:
    """``name``, or a longer one naming the file when another document already has it."""
    if name not in taken:
        return name
    if name == source:  # a whole file: name it by its folder too
        candidates = [f"{base.resolve().name}/{source}", path.resolve().as_posix()]
    else:  # a record of a corpus file: name it by the file
        candidates = [f"{source}#{name}", f"{base.resolve().name}/{source}#{name}"]
    return next((c for c in candidates if c not in taken), None)


def read_paths(paths: list[Path]) -> ReadReport:
    """Read files and folders (recursively); unreadable files are skipped with a one-line reason.

    A file listed twice is read once. Two documents with the same name (``a/x.txt`` and
    ``b/x.txt`` given as two folders) keep apart: the second is named by its folder.
    """
    report = ReadReport()
    report.documents.extend(iter_documents(paths, report))
    return report


def iter_documents(paths: list[Path], report: ReadReport) -> Iterator[Document]:
    """The documents of ``paths`` one file at a time, as ``read_paths`` reads them; sources and
    skipped files are added to ``report`` as they are met, so a build never holds every text."""
    read: set[Path] = set()
    names: set[str] = set()
    for root in paths:
        root = Path(root)
        try:
            is_dir = root.is_dir()
            exists = is_dir or root.exists()
        except OSError as e:
            report.skipped.append((str(root), f"cannot access: {e.strerror or e}"))
            continue
        if not exists:
            report.skipped.append((str(root), "no such file or folder"))
            continue
        if is_dir:
            files, base = find_files(root, report.skipped), root
            if not files:
                report.skipped.append((str(root), "no files in folder"))
        elif not root.is_file():
            report.skipped.append((str(root), "not a regular file"))
            continue
        else:
            files, base = [root], root.parent
        for path in files:
            reader = READERS.get(path.suffix.lower())
            if reader is None:
                if not is_dir or path.suffix:
                    report.skipped.append((str(path), _unsupported(path)))
                continue
            real = path.resolve()
            if real in read:
                if not is_dir:
                    report.skipped.append((str(path), "listed twice (read once)"))
                continue
            read.add(real)
            problems: list[str] = []
            source = path.relative_to(base).as_posix()
            try:
                data = path.read_bytes()
                if not data:
                    raise Unreadable("empty file")
                docs = reader(data, source, problems)
            except Unreadable as e:
                report.skipped.append((str(path), str(e)))
                continue
            except OSError as e:
                report.skipped.append((str(path), f"cannot read: {e.strerror or e}"))
                continue
            except RecursionError:
                report.skipped.append((str(path), "too deeply nested to read"))
                continue
            except Exception as e:  # noqa: BLE001 - one odd file must not stop the whole build
                first = str(e).strip().split("\n")[0][:200]
                report.skipped.append((str(path), f"could not be read ({type(e).__name__}: {first})"))
                continue
            report.skipped.extend((str(path), p) for p in problems)
            kept = []
            for doc in docs:
                unique = _unique(doc.name, source, base, path, names)
                if unique is None:
                    report.skipped.append((str(path), f"a document named '{doc.name}' was already read"))
                    continue
                names.add(unique)
                kept.append(doc if unique == doc.name else Document(unique, doc.text, doc.title, doc.pages))
            if not kept:
                continue
            report.sources.append(SourceFile(path=path, name=source,
                                             sha256=hashlib.sha256(data).hexdigest(), size=len(data)))
            del data
            yield from kept
