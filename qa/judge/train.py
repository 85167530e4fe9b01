"""Trains the answer verifier: runs the pipeline on the training set, fits a logistic regression, ships JSON.

    python -m qa.judge.train --bench ../shared/bench --work /tmp/judge/train [--no-code-switch] [--out FILE]

Deterministic for a seed: the set is fixed by it, the reader and retrieval are deterministic, and the
regression is solved exactly (lbfgs to convergence). Needs scikit-learn (the `train` extra) only here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from qa.judge.features import NAMES

SEED = 13
DEFAULT_THRESHOLDS = {"zh>zh": 0.5, "en>zh": 0.5, "en>en": 0.5, "*": 0.5}
CORRECT_F1 = 0.5  # an answer counts as right when its F1 against a reference reaches this


def pipeline_rows(index, questions: list[dict], verifier_off: bool = True, batch: int = 64) -> list[dict]:
    """For each question, its chosen span's features and whether the answer was right (margin rule only)."""
    from qa.evaluation.metrics import f1
    from qa.judge.judging import answer_features, pair_of, read_and_judge
    from qa.judge.qtype import question_type

    evidence = None
    rows = []
    from qa.judge.judging import evidence_of

    evidence = evidence_of(index.answerer)
    for s in range(0, len(questions), batch):
        qs = questions[s:s + batch]
        texts = [q["question"] for q in qs]
        vecs = index.embed_questions(texts)
        composed = [index.answerer.compose(t, v, index.retriever.search(t, v, 15, "hybrid"), 5, qid=str(q["id"]))
                    for t, v, q in zip(texts, vecs, qs)]
        read = read_and_judge(index.reader, composed, vecs, index.reading, evidence, None, abstain=True)
        for q, c, a, v in zip(qs, composed, read, vecs):
            qt = question_type(q["question"])
            x = answer_features(a, qt, v, evidence) if not qt.spanless else None
            answers = q.get("answers") or []
            said = a.answer.text if a.answer is not None else None
            score = f1(said, answers) if answers and said else 0.0
            holder = next((h for h in a.hits if a.answer is not None and h.answer is a.answer), None)
            rows.append({"id": str(q["id"]), "source": q.get("source", ""), "answerable": bool(answers),
                         "retrieval_abstained": c.abstained, "reader_abstained": a.abstained,
                         "pair": pair_of(q["question"], holder) if holder else "?",
                         "margin": a.answer.margin if a.answer is not None else None, "f1": score,
                         "right": bool(answers) and score >= CORRECT_F1, "type": qt.kind,
                         "x": None if x is None else [float(t) for t in x]})
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
    a = ap.parse_args(argv)
    from qa.api import Index
    from qa.index import store
    from qa.judge.trainset import make_set
    from qa.judge.verifier import shipped_weights

    cache = a.work / "rows.json"
    if cache.is_file():
        rows = json.loads(cache.read_text(encoding="utf-8"))
    else:
        corpus, qfile = make_set(a.bench, a.work / "set", seed=a.seed)
        folder = a.work / "index"
        index = Index.open(folder) if store.exists(folder) else Index.build([corpus], folder)
        questions = [json.loads(line) for line in qfile.read_text(encoding="utf-8").splitlines() if line.strip()]
        rows = pipeline_rows(index, questions)
        cache.write_text(json.dumps(rows), encoding="utf-8")
    if a.no_code_switch:
        rows = [r for r in rows if r["source"] != "cmrc-code-switched"]
    weights = fit(rows, a.seed, a.c)
    out = a.out or shipped_weights()
    out.write_text(json.dumps(weights, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}: {weights['trained_on']} answers, {weights['positives']} right", file=sys.stderr)


if __name__ == "__main__":
    main()
