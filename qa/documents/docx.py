"""Word .docx files: paragraphs and tables in document order."""

from __future__ import annotations

import io
import re

from qa.documents.base import Document, Unreadable, _has_words
from qa.documents.encoding import _clean


def read_docx(data: bytes, name: str, problems: list[str] | None = None) -> list[Document]:
    """A Word .docx file: its paragraphs and tables in order, split by blank lines."""
    try:
        import docx
        from docx.table import Table
    except ImportError as e:
        raise Unreadable("reading .docx needs the python-docx package: pip install python-docx") from e
    blocks: list[str] = []
    try:
        document = docx.Document(io.BytesIO(data))
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                rows = []
                for row in item.rows:
                    cells: list[str] = []
                    for cell in row.cells:  # a merged cell comes back once per column it spans
                        t = re.sub(r"\s+", " ", cell.text).strip()
                        if t and (not cells or cells[-1] != t):
                            cells.append(t)
                    if cells:
                        rows.append(" | ".join(cells))
                text = "\n".join(rows)
            else:
                text = "\n".join(line.strip() for line in _clean(item.text).split("\n") if line.strip())
            if text:
                blocks.append(text)
    except Exception as e:  # noqa: BLE001 - a damaged package fails in many ways inside python-docx
        raise Unreadable(f"not a readable .docx file ({type(e).__name__})") from e
    text = "\n\n".join(blocks)
    if not _has_words(text):
        raise Unreadable("no text in the document")
    return [Document(name=name, text=text)]
