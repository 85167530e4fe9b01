"""Trains the answer verifier: runs the pipeline on the training set, fits a logistic regression, ships JSON.

    python -m qa.judge.train --bench ../shared/bench --work /tmp/judge/train [--no-code-switch] [--out FILE]

Deterministic for a seed: the set is fixed by it, the reader and retrieval are deterministic, and the
regression is solved exactly (lbfgs to convergence). Needs scikit-learn (the `train` extra) only here.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from qa.judge.features import NAMES

SEED = 13
DEFAULT_THRESHOLDS = {"zh>zh": 0.5, "en>zh": 0.5, "en>en": 0.5, "*": 0.5}
CORRECT_F1 = 0.5  # an answer counts as right when its F1 against a reference reaches this


def pipeline_rows(index, questions: list[dict], partial: Path | None = None, batch: int = 32,
                  read_abstained: bool = True) -> list[dict]:
    """For each question, its chosen span's features and whether the answer was right (margin rule only);
    rows already in ``partial`` (one JSON a line) are kept and the rest appended there as they are made."""
    from qa.evaluation.metrics import f1
    from qa.judge.judging import answer_features, pair_of, read_and_judge
    from qa.judge.qtype import question_type

    from qa.judge.judging import evidence_of

    evidence = evidence_of(index.answerer)
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
        for i, a in zip(todo, done_now):
            read[i] = a
        for q, c, a, v in zip(qs, composed, read, vecs):
            qt = question_type(q["question"])
            t0 = time.perf_counter()
            x = answer_features(a, qt, v, evidence) if not qt.spanless else None
            ms = 1000 * (time.perf_counter() - t0)
            answers = q.get("answers") or []
            said = a.answer.text if a.answer is not None else None
            score = f1(said, answers) if answers and said else 0.0
            holder = next((h for h in a.hits if a.answer is not None and h.answer is a.answer), None)
            rows.append({"id": str(q["id"]), "source": q.get("source", ""), "answerable": bool(answers),
                         "retrieval_abstained": c.abstained, "reader_abstained": a.abstained,
                         "pair": pair_of(q["question"], holder) if holder else "?",
                         "margin": a.answer.margin if a.answer is not None else None, "f1": score,
                         "right": bool(answers) and score >= CORRECT_F1, "type": qt.kind, "answer": said, "feature_ms": ms,
                         "x": None if x is None else [float(t) for t in x]})
            if partial is not None:
                with partial.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(rows[-1]) + "\n")
        print(f"{min(s + batch, len(questions))}/{len(questions)} questions", file=sys.stderr, flush=True)
    return rows


def fit(rows: list[dict], seed: int = SEED, c: float = 1.0) -> dict:
    """A logistic regression on the rows that reach the verifier (a span, retrieval evidence holds)."""
    from sklearn.linear_model import LogisticRegression

    use = [r for r in rows if r["x"] is not None and not r["retrieval_abstained"]]
    X = np.array([r["x"] for r in use])
    y = np.array([int(r["right"]) for r in use])
    mean, scale = X.mean(0), X.std(0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=c, max_iter=5000, random_state=seed).fit((X - mean) / scale, y)
    return {"features": list(NAMES), "mean": mean.tolist(), "scale": scale.tolist(),
            "coef": model.coef_[0].tolist(), "intercept": float(model.intercept_[0]),
            "thresholds": dict(DEFAULT_THRESHOLDS), "trained_on": len(use), "positives": int(y.sum()), "seed": seed}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m qa.judge.train", description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", type=Path, default=Path("../shared/bench"))
    ap.add_argument("--work", type=Path, default=Path("/tmp/qa-verifier"), help="training set, index and cached rows")
    ap.add_argument("--out", type=Path, default=None, help="weights file [default: qa/judge/weights/verifier.json]")
    ap.add_argument("--no-code-switch", action="store_true", help="leave out the English-over-Chinese questions")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength")
    ap.add_argument("--thresholds", default="zh>zh=0.08,en>zh=0,en>en=0,*=0",
                    help="probability to answer, by language pair (from bench/verifier_calibrate.py)")
    ap.add_argument("--questions", type=int, default=None, help="read only this many questions (a seeded sample)")
    ap.add_argument("--fit-only", action="store_true", help="fit on the rows made so far (rows.jsonl)")
    a = ap.parse_args(argv)
    from qa.api import Index
    from qa.index import store
    from qa.judge.trainset import make_set
    from qa.judge.verifier import shipped_weights

    import random

    partial = a.work / "rows.jsonl"
    if a.fit_only:
        rows = [json.loads(line) for line in partial.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        corpus, qfile = make_set(a.bench, a.work / "set", seed=a.seed)
        folder = a.work / "index"
        index = Index.open(folder) if store.exists(folder) else Index.build([corpus], folder)
        questions = [json.loads(line) for line in qfile.read_text(encoding="utf-8").splitlines() if line.strip()]
        random.Random(a.seed).shuffle(questions)  # sources interleaved: any prefix is a fair sample
        rows = pipeline_rows(index, questions[: a.questions], partial)
    for r in rows:  # rows cached by a run that also counted the passages with a span (since dropped)
        if r["x"] is not None and len(r["x"]) == len(NAMES) + 1:
            del r["x"][NAMES.index("span_in_question") + 1]
    if a.no_code_switch:
        rows = [r for r in rows if r["source"] != "cmrc-code-switched"]
    weights = fit(rows, a.seed, a.c)
    weights["thresholds"] = {k: float(v) for k, v in (t.split("=") for t in a.thresholds.split(","))}
    out = a.out or shipped_weights()
    out.write_text(json.dumps(weights, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}: {weights['trained_on']} answers, {weights['positives']} right", file=sys.stderr)


if __name__ == "__main__":
    main()
