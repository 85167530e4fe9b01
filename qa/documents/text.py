"""Plain text and Markdown: one document, the decoded text as it is."""

from __future__ import annotations

from qa.documents.base import Document, Unreadable, _has_words
from qa.documents.encoding import decode


def read_text(data: bytes, name: str, problems: list[str] | None = None) -> list[Document]:
    """A plain-text or Markdown file: one document, the decoded text as it is."""
    text = decode(data)
    if not _has_words(text):
        raise Unreadable("no text in file")
    return [Document(name=name, text=text)]
