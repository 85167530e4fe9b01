"""Fits the answer verifier: a logistic regression on pipeline rows, shipped as JSON with its thresholds.

    python -m qa.evaluation.verifier_data --bench ../shared/bench --work /tmp/qa-verifier   # the rows
    python -m qa.judge.train --rows /tmp/qa-verifier/rows.jsonl [--no-code-switch] [--out FILE]

Deterministic for a seed: the set is fixed by it, the reader and retrieval are deterministic, and the
regression is solved to convergence (lbfgs). Needs scikit-learn (the `train` extra) only here.
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


def fit(rows: list[dict], seed: int = SEED, c: float = 1.0) -> dict:
    """A logistic regression on the spans that reach the verifier: every span the reader found in the
    passages it may read, of questions whose retrieval evidence holds."""
    from sklearn.linear_model import LogisticRegression

    use = [k for r in rows if not r["retrieval_abstained"] for k in r.get("candidates", [])]
    X = np.array([k["x"] for k in use])
    y = np.array([int(k["right"]) for k in use])
    mean, scale = X.mean(0), X.std(0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=c, max_iter=5000, random_state=seed).fit((X - mean) / scale, y)
    return {"features": list(NAMES), "mean": mean.tolist(), "scale": scale.tolist(),
            "coef": model.coef_[0].tolist(), "intercept": float(model.intercept_[0]),
            "thresholds": dict(DEFAULT_THRESHOLDS), "trained_on": len(use), "positives": int(y.sum()), "seed": seed}


def refresh(rows: list[dict], questions: Path) -> None:
    """Computes the spans' typing features again by today's rules (qa/judge/qtype.py, spantype.py)."""
    from qa.judge.features import refresh_typing
    from qa.judge.qtype import question_type

    text = {str(q["id"]): q["question"] for q in map(json.loads, questions.read_text(encoding="utf-8").splitlines())}
    for r in rows:
        qt = question_type(text[r["id"]])
        for k in r.get("candidates", []):
            k["x"] = refresh_typing(k["x"], k["answer"], qt)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m qa.judge.train", description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=Path, default=Path("/tmp/qa-verifier/rows.jsonl"),
                    help="rows made by python -m qa.evaluation.verifier_data")
    ap.add_argument("--out", type=Path, default=None, help="weights file [default: qa/judge/weights/verifier.json]")
    ap.add_argument("--no-code-switch", action="store_true", help="leave out the English-over-Chinese questions")
    ap.add_argument("--questions", type=Path, default=None,
                    help="the set's questions [ROWS' folder/set/questions.jsonl]: typing features are refreshed from them")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength")
    ap.add_argument("--thresholds", default="zh>zh=0.025,en>zh=0,en>en=0,*=0",
                    help="probability to answer, by language pair (from bench/verifier_calibrate.py)")
    ap.add_argument("--decision", default="read_on=5,alternate_margin=-9,unit_rule=1,n_best=10",
                    help="how the judge uses the probability (qa/judge/judging.py; from bench/verifier_calibrate.py)")
    a = ap.parse_args(argv)
    from qa.judge.verifier import shipped_weights

    rows = [json.loads(line) for line in a.rows.read_text(encoding="utf-8").splitlines() if line.strip()]
    refresh(rows, a.questions or a.rows.parent / "set" / "questions.jsonl")
    if a.no_code_switch:
        rows = [r for r in rows if r["source"] != "cmrc-code-switched"]
    weights = fit(rows, a.seed, a.c)
    weights["thresholds"] = {k: float(v) for k, v in (t.split("=") for t in a.thresholds.split(","))}
    weights["decision"] = {k: float(v) for k, v in (t.split("=") for t in a.decision.split(","))}
    out = a.out or shipped_weights()
    out.write_text(json.dumps(weights, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}: {weights['trained_on']} spans, {weights['positives']} right", file=sys.stderr)


if __name__ == "__main__":
    main()
