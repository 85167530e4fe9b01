"""The warm-question part of bench/speed.py: ask latency with and without the reader, its parts, and ask_many."""

from __future__ import annotations

import json
import statistics
from dataclasses import replace
from pathlib import Path
from typing import Any

from speedlib.common import SHARED, load_questions, now, pct


def english_questions() -> list[str]:
    """The English questions of the seeds-qa dev set (none when it is not there)."""
    dev = SHARED.parent / "seeds-qa" / "dev.jsonl"
    if not dev.is_file():
        return []
    return [json.loads(line)["question"] for line in dev.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line)["lang"] == "en"]


def bench_questions(folder: Path, questions_file: Path, cache_dir: Path | None) -> dict[str, Any]:
    from qa.api import Index

    idx = Index.open(folder, cache_dir=cache_dir)
    qs = load_questions(questions_file, 100)
    many = load_questions(questions_file, 500, skip=100)
    for q in qs[:3]:  # warm up: model and reader load, jieba, first FAISS search
        idx.ask(q)
    # Without and with the reader (and with the reader made to read every chosen passage, as it did before
    # it stopped at the first trusted one), question by question, so all see the same machine state.
    cascade = idx.reading
    every = replace(cascade, stop_when_trusted=False)
    lat, lat_reader, lat_every = [], [], []
    for q in qs:
        t0 = now()
        idx.ask(q, reader=False)
        t1 = now()
        idx.ask(q)
        t2 = now()
        idx.reading = every
        idx.ask(q)
        idx.reading = cascade
        lat.append(t1 - t0)
        lat_reader.append(t2 - t1)
        lat_every.append(now() - t2)
    # Where a question's time goes (same questions, same process).
    enc, search, compose = [], [], []
    for q in qs:
        t0 = now()
        v = idx.embed_questions([q])[0]
        t1 = now()
        cands = idx.retriever.search(q, v, 15, "hybrid")
        t2 = now()
        idx.answerer.compose(q, v, cands, 5)
        t3 = now()
        enc.append(t1 - t0), search.append(t2 - t1), compose.append(t3 - t2)
    t0 = now()
    idx.ask_many(many, reader=False)
    batch = now() - t0
    t0 = now()
    idx.ask_many(many)
    batch_reader = now() - t0
    idx.reading = every
    t0 = now()
    idx.ask_many(many)
    batch_every = now() - t0
    idx.reading = cascade
    # English questions over this Chinese corpus take the dictionary path and embed a few sentences.
    english = english_questions()
    en_lat = []
    for q in english:
        t0 = now()
        idx.ask(q, reader=False)
        en_lat.append(now() - t0)
    return {
        "reader_ask_p50_ms": pct(lat_reader, 50) * 1e3,
        "reader_ask_p95_ms": pct(lat_reader, 95) * 1e3,
        "reader_batch_q_per_s": len(many) / batch_reader,
        "reader_every_ask_p50_ms": pct(lat_every, 50) * 1e3,
        "reader_every_batch_q_per_s": len(many) / batch_every,
        "english_questions": len(english),
        "english_ask_p50_ms": pct(en_lat, 50) * 1e3,
        "questions": len(qs),
        "ask_p50_ms": pct(lat, 50) * 1e3,
        "ask_p95_ms": pct(lat, 95) * 1e3,
        "ask_mean_ms": statistics.fmean(lat) * 1e3,
        "encode_query_p50_ms": pct(enc, 50) * 1e3,
        "search_p50_ms": pct(search, 50) * 1e3,
        "compose_p50_ms": pct(compose, 50) * 1e3,
        "compose_p95_ms": pct(compose, 95) * 1e3,
        "batch_questions": len(many),
        "batch_s": batch,
        "batch_q_per_s": len(many) / batch,
    }
