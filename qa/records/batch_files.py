"""Reads question files (txt, jsonl, csv, stdin) and writes batch results (jsonl, csv, md) atomically."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import tempfile
from pathlib import Path

from qa.errors import QAError
from qa.types import Answer

CSV_FIELDS = ["id", "question", "answer", "abstained", "error", "rank", "score", "doc", "paragraph", "start", "end",
              "line", "sentence", "passage_answer", "text"]


def read_questions(source: str) -> tuple[list[tuple[str, str]], list[Answer]]:
    """(id, question) pairs, plus error entries for lines that hold no usable question."""
    if source == "-":
        raw = getattr(sys.stdin, "buffer", None)
        try:
            text, kind = (raw.read().decode("utf-8-sig") if raw is not None else sys.stdin.read()), None
        except UnicodeDecodeError as e:
            raise QAError("the questions on standard input are not UTF-8 text") from e
    else:
        path = Path(source)
        if not path.is_file():
            raise QAError(f"no such question file: {source}")
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise QAError(f"{source} is not UTF-8 text") from e
        except OSError as e:
            raise QAError(f"cannot read {source}: {e.strerror or e}") from e
        kind = path.suffix.lower().lstrip(".")
    if kind not in ("txt", "jsonl", "csv"):
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        kind = "jsonl" if first.startswith("{") else "txt"
    try:
        items, bad = {"txt": _txt, "jsonl": _jsonl, "csv": _csv}[kind](text)
    except csv.Error as e:
        raise QAError(f"{source} is not a readable CSV file ({e})") from e
    if not items and not bad:
        raise QAError(f"no questions in {source}")
    return items, bad


def _txt(text: str) -> tuple[list[tuple[str, str]], list[Answer]]:
    items = []
    for n, line in enumerate(text.splitlines(), 1):
        q = line.strip()
        if q and not q.startswith("#"):
            items.append((str(n), q))
    return items, []


def _jsonl(text: str) -> tuple[list[tuple[str, str]], list[Answer]]:
    items, bad = [], []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            q = rec["question"]
            if not isinstance(q, str):
                raise TypeError
            items.append((str(rec.get("id", n)), q))
        except (ValueError, KeyError, TypeError, AttributeError):
            bad.append(Answer(question=line.strip()[:200], id=f"line {n}",
                              error=f"line {n} is not a JSON object with a \"question\" string"))
    return items, bad


def _csv(text: str) -> tuple[list[tuple[str, str]], list[Answer]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "question" not in reader.fieldnames:
        raise QAError("the CSV file needs a 'question' column")
    items = []
    for n, row in enumerate(reader, 2):
        items.append((str(row.get("id") or n), row.get("question") or ""))
    return items, []


def answered_ids(output: Path) -> dict[str, dict]:
    """Results already in a jsonl output file, by question id (for --resume)."""
    if not output.is_file():
        return {}
    try:
        text = output.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise QAError(f"cannot resume from {output}: it is not a readable results file ({e})") from e
    done = {}
    for line in text.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and "id" in rec and not rec.get("error"):
            done[str(rec["id"])] = rec
    return done


def write_results(previous: list[dict], answers: list[dict], output: Path | None, fmt: str) -> None:
    """Write all result records (``Answer.to_dict()``) at once; a file is replaced only when complete."""
    records = previous + answers
    text = {"jsonl": _to_jsonl, "csv": _to_csv, "md": _to_md}[fmt](records)
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    except OSError as e:
        raise QAError(f"cannot write results to {output}: {e.strerror or e}") from e
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, output)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise QAError(f"cannot write results to {output}: {e.strerror or e}") from e
        raise


def _to_jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def _to_csv(records: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore")
    w.writeheader()
    for r in records:
        answer = r.get("answer") or {}
        base = {"id": r["id"], "question": r["question"], "answer": answer.get("text", ""),
                "abstained": r.get("abstained", False), "error": r.get("error", "")}
        if not r.get("passages"):
            w.writerow(base)
        for p in r.get("passages", []):
            fields = {k: v for k, v in p.items() if k != "answer"}
            w.writerow({**base, **fields, "passage_answer": (p.get("answer") or {}).get("text", "")})
    return buf.getvalue()


def _to_md(records: list[dict]) -> str:
    out = []
    for r in records:
        out.append(f"## {r['id']}: {r['question']}\n")
        if r.get("error"):
            out.append(f"**error:** {r['error']}\n")
            continue
        if r.get("abstained"):
            out.append("_No passage answers this question with confidence; closest passages:_\n")
        elif r.get("answer"):
            a = r["answer"]
            out.append(f"**Answer:** {a['text']} (`{a['doc']} ¶{a['paragraph']}`)\n")
        for p in r.get("passages", []):
            cite = f"{p['doc']} ¶{p['paragraph']}, line {p['line']}, chars {p['start']}-{p['end']}"
            text = p["text"].replace("\n", " ")
            if p["sentence"] and p["sentence"] in text:
                text = text.replace(p["sentence"], f"**{p['sentence']}**", 1)
            out.append(f"{p['rank']}. `{cite}` (score {p['score']:.3f})\n\n   {text}\n")
        out.append("")
    return "\n".join(out)
