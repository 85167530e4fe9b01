"""Turns files on disk into decoded documents: finds the files, detects encodings, reads each format.

One module per format (``text``, ``jsonl``, ``html``, ``pdf``, ``docx``), encoding detection in
``encoding``, and ``files`` to walk folders and pick the reader for each file.
"""

from qa.documents.base import Document, ReadReport, SourceFile, Unreadable
from qa.documents.docx import read_docx
from qa.documents.encoding import decode
from qa.documents.files import (
                    CONVERT_HINTS,
                    HTML_SUFFIXES,
                    READERS,
                    TEXT_SUFFIXES,
                    find_files,
                    iter_documents,
                    read_paths,
                    sha256_of,
)
from qa.documents.html import read_html
from qa.documents.jsonl import read_jsonl
from qa.documents.pdf import read_pdf
from qa.documents.text import read_text

__all__ = [
    "CONVERT_HINTS", "HTML_SUFFIXES", "READERS", "TEXT_SUFFIXES", "Document", "ReadReport", "SourceFile",
    "Unreadable", "decode", "find_files", "iter_documents", "read_docx", "read_html", "read_jsonl", "read_paths",
    "read_pdf", "read_text", "sha256_of",
]
