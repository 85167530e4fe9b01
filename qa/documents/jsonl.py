"""Corpus files: one ``{"id", "title", "text"}`` record a line, each record a document."""

from __future__ import annotations

import json

from qa.documents.base import MAX_LINE_PROBLEMS, Document, Unreadable, _has_words
from qa.documents.encoding import _clean, decode


def read_jsonl(data: bytes, name: str, problems: list[str] | None = None) -> list[Document]:
    """A corpus file: each line ``{"id", "title", "text"}``; the id names the document.

    Bad lines and repeated ids are left out and reported in ``problems``; the file is unreadable
    only when no record is usable.
    """
    problems = problems if problems is not None else []
    docs: list[Document] = []
    seen: set[str] = set()
    bad: list[str] = []
    for lineno, line in enumerate(decode(data).split("\n"), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise TypeError("not an object")
            doc_id, body = rec["id"], rec["text"]
            if not isinstance(doc_id, (str, int)) or isinstance(doc_id, bool) or not str(doc_id).strip():
                raise TypeError("id is not a string or number")
            if not isinstance(body, str):
                raise TypeError("text is not a string")
        except (ValueError, KeyError, TypeError) as e:
            why = f"missing {e}" if isinstance(e, KeyError) else str(e).split("\n")[0]
            bad.append(f"line {lineno} is not a {{\"id\", \"title\", \"text\"}} record ({why})")
            continue
        doc_id = str(doc_id)
        if doc_id in seen:
            bad.append(f"line {lineno} repeats id '{doc_id}' (kept the first)")
            continue
        seen.add(doc_id)
        body = _clean(body)
        if _has_words(body):
            title = rec.get("title")
            docs.append(Document(name=doc_id, text=body, title=title.strip() if isinstance(title, str) else ""))
    if not docs:
        if bad and not seen:
            raise Unreadable(bad[0] + (f"; {len(bad) - 1} more bad lines" if len(bad) > 1 else ""))
        raise Unreadable("no records with text")
    problems.extend(bad[:MAX_LINE_PROBLEMS])
    if len(bad) > MAX_LINE_PROBLEMS:
        problems.append(f"{len(bad) - MAX_LINE_PROBLEMS} more bad lines left out")
    return docs

