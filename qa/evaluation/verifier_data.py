"""Training rows for the answer verifier: the pipeline (hybrid, reader, margin rule) run over question sets.

    python -m qa.evaluation.verifier_data --bench ../shared/bench --work /tmp/qa-verifier [--questions N]

writes WORK/rows.jsonl (kept as it grows: a rerun goes on where it stopped); then
``python -m qa.judge.train --rows WORK/rows.jsonl`` fits the verifier. ``bench/verifier_rows.py`` makes the
same rows for the calibration sets.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

from qa.api import Index
from qa.evaluation.metrics import f1
from qa.index import store
from qa.judge.judging import evidence_of, hit_features, pair_of, read_and_judge
from qa.judge.qtype import question_type
from qa.judge.train import CORRECT_F1, SEED
from qa.judge.trainset import make_set
from qa.reader.reading import read_more


def pipeline_rows(index, questions: list[dict], partial: Path | None = None, batch: int = 32,
                  read_abstained: bool = True, read_top: int | None = None) -> list[dict]:
    """For each question, the reader's chosen span (margin rule only) and every span it finds in the
    passages it may read (``read_top``, the reading policy's by default), each with its verifier features and
    whether it is right; rows already in ``partial`` (one JSON a line) are kept and the rest appended there."""
    evidence = evidence_of(index.answerer)
    read_top = read_top or index.reading.read_top
    rows = []
    if partial is not None and partial.is_file():
        rows = [json.loads(line) for line in partial.read_text(encoding="utf-8").splitlines() if line.strip()]
    done = {r["id"] for r in rows}
    questions = [q for q in questions if str(q["id"]) not in done]
    for s in range(0, len(questions), batch):
        qs = questions[s:s + batch]
        texts = [q["question"] for q in qs]
        vecs = index.embed_questions(texts)
        composed = [index.answerer.compose(t, v, index.retriever.search(t, v, 15, "hybrid"), 5, qid=str(q["id"]))
                    for t, v, q in zip(texts, vecs, qs)]
        read = list(composed)
        todo = [i for i, c in enumerate(composed) if read_abstained or not c.abstained]
        done_now = read_and_judge(index.reader, [composed[i] for i in todo], vecs[todo], index.reading, evidence,
                                  None, abstain=True)
        done_now = read_more(index.reader, done_now, [list(range(read_top))] * len(done_now))
        for i, a in zip(todo, done_now):
            read[i] = a
        for q, c, a, v in zip(qs, composed, read, vecs):
            qt = question_type(q["question"])
            answers = q.get("answers") or []
            said = a.answer.text if a.answer is not None else None
            score = f1(said, answers) if answers and said else 0.0
            holder = next((h for h in a.hits if a.answer is not None and h.answer is a.answer), None)
            cands = []
            for h in a.hits[:read_top]:
                if h.answer is None or qt.spanless:
                    continue
                t0 = time.perf_counter()
                x = hit_features(a, h, qt, v, evidence)
                ms = 1000 * (time.perf_counter() - t0)
                cf = f1(h.answer.text, answers) if answers else 0.0
                cands.append({"rank": h.rank, "answer": h.answer.text, "margin": h.answer.margin, "f1": cf,
                              "right": bool(answers) and cf >= CORRECT_F1, "chosen": h is holder,
                              "pair": pair_of(q["question"], h), "feature_ms": ms, "x": [float(t) for t in x]})
            chosen = next((k for k in cands if k["chosen"]), None)
            rows.append({"id": str(q["id"]), "source": q.get("source", ""), "answerable": bool(answers),
                         "retrieval_abstained": c.abstained, "reader_abstained": a.abstained,
                         "pair": pair_of(q["question"], holder) if holder else "?",
                         "margin": a.answer.margin if a.answer is not None else None, "f1": score,
                         "right": bool(answers) and score >= CORRECT_F1, "type": qt.kind, "answer": said,
                         "feature_ms": chosen["feature_ms"] if chosen else 0.0,
                         "x": chosen["x"] if chosen else None, "candidates": cands})
            if partial is not None:
                with partial.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(rows[-1], ensure_ascii=False) + "\n")
        print(f"{min(s + batch, len(questions))}/{len(questions)} questions", file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m qa.evaluation.verifier_data", description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", type=Path, default=Path("../shared/bench"))
    ap.add_argument("--work", type=Path, default=Path("/tmp/qa-verifier"), help="training set, index and rows")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--questions", type=int, default=None, help="read only this many questions (a seeded sample)")
    a = ap.parse_args(argv)
    corpus, qfile = make_set(a.bench, a.work / "set", seed=a.seed)
    folder = a.work / "index"
    index = Index.open(folder) if store.exists(folder) else Index.build([corpus], folder)
    questions = [json.loads(line) for line in qfile.read_text(encoding="utf-8").splitlines() if line.strip()]
    random.Random(a.seed).shuffle(questions)  # sources interleaved: any prefix is a fair sample
    pipeline_rows(index, questions[: a.questions], a.work / "rows.jsonl")


if __name__ == "__main__":
    main()
