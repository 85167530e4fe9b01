"""PDF files with a text layer: the text of each page, with the page numbers citations carry."""

from __future__ import annotations

import io

from qa.documents.base import Document, Unreadable, _has_words, _quiet
from qa.documents.encoding import _clean


def _page_text(text: str) -> str:
    text = _clean(text).replace("\x00", "")
    text = "".join(ch for ch in text if ord(ch) >= 32 or ch in "\n\t")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def read_pdf(data: bytes, name: str, problems: list[str] | None = None) -> list[Document]:
    """A PDF with a text layer: the text of each page, pages split by blank lines, pages recorded."""
    try:
        from pypdf import PdfReader
    except ImportError as e:
        raise Unreadable("reading PDF needs the pypdf package: pip install pypdf") from e
    problems = problems if problems is not None else []
    parts: list[str] = []
    pages: list[tuple[int, int]] = []
    offset = 0
    with _quiet("pypdf"):
        try:
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                try:
                    opened = reader.decrypt("")
                except Exception as e:  # noqa: BLE001 - pypdf raises many kinds here
                    raise Unreadable(f"encrypted PDF ({e}): save a copy without a password") from e
                if not opened:
                    raise Unreadable("encrypted PDF: save a copy without a password")
            count = len(reader.pages)
        except Unreadable:
            raise
        except Exception as e:  # noqa: BLE001 - a damaged PDF fails in many ways inside pypdf
            raise Unreadable(f"not a readable PDF ({type(e).__name__})") from e
        for number in range(1, count + 1):
            try:
                text = _page_text(reader.pages[number - 1].extract_text() or "")
            except Exception as e:  # noqa: BLE001
                problems.append(f"page {number} left out: its text could not be extracted ({type(e).__name__})")
                continue
            if not _has_words(text):
                continue
            if parts:
                offset += 2  # the blank line between pages
            pages.append((offset, number))
            parts.append(text)
            offset += len(text)
    if not parts:
        raise Unreadable("no text in the PDF (scanned pages need OCR first)")
    return [Document(name=name, text="\n\n".join(parts), pages=tuple(pages))]
