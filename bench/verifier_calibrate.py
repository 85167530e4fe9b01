"""What the verifier and each threshold do on the calibration sets, against the reader's margin alone.

    python bench/verifier_calibrate.py ROWS.jsonl... --questions FILE... [--weights FILE] [--threshold T ...]

ROWS are written by bench/verifier_rows.py (one file a set, named rows-SET.jsonl). For thresholds 0.05..0.9
(or the given ones), each set's unanswerable and answerable questions abstained and answer F1 by language;
risk-coverage (accuracy at 50/70/90% of questions answered, most confident first, and the area) for the
verifier's probability and for the reader's margin; the verifier's time a question (features + predict).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.judge.qtype import NO_SPAN, question_type
from qa.judge.spantype import contradicts
from qa.judge.verifier import Verifier


def load(paths: list[Path], verifier: Verifier) -> tuple[list[dict], float]:
    rows = []
    t0 = time.perf_counter()
    for path in paths:
        name = path.stem.replace("rows-", "")
        for line in path.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            r["set"] = name
            r["p"] = float(verifier.probability(np.array(r["x"]))[0]) if r["x"] is not None else None
            rows.append(r)
    predict_ms = 1000 * (time.perf_counter() - t0) / max(1, len(rows))
    return rows, predict_ms


def abstains(r: dict, thresholds: dict[str, float] | None) -> bool:
    """The shipped decision (verifier) or, with ``thresholds`` None, the reader's margin alone."""
    if thresholds is None:
        return r["reader_abstained"]
    if r["type"] in NO_SPAN:
        return r["retrieval_abstained"]
    if r["p"] is None:
        return r["reader_abstained"]
    qt = r["qt"]
    return (r["retrieval_abstained"] or bool(r.get("answer") and contradicts(r["answer"], qt))
            or r["p"] < thresholds.get(r["pair"], thresholds["*"]))


def outcome(rows: list[dict], thresholds: dict[str, float] | None) -> dict:
    res = {}
    for name in sorted({r["set"] for r in rows}):
        rs = [r for r in rows if r["set"] == name]
        un = [r for r in rs if not r["answerable"]]
        an = [r for r in rs if r["answerable"]]
        out = {"unanswerable_abstained": f"{sum(abstains(r, thresholds) for r in un)}/{len(un)}",
               "answerable_abstained": f"{sum(abstains(r, thresholds) for r in an)}/{len(an)}"}
        for lang in ("zh", "en"):
            f1s = [0.0 if abstains(r, thresholds) or r["type"] in NO_SPAN else 100 * r["f1"]
                   for r in an if r["pair"].startswith(lang)]
            if f1s:
                out[f"f1_{lang}"] = round(sum(f1s) / len(f1s), 1)
        res[name] = out
    return res


def risk_coverage(rows: list[dict], key: str) -> dict:
    def conf(r):
        v = r[key]
        return -math.inf if v is None or r["type"] in NO_SPAN else v
    ranked = sorted(rows, key=lambda r: -conf(r))
    curve, right = [], 0
    for n, r in enumerate(ranked, 1):
        right += bool(r["right"]) and r["type"] not in NO_SPAN
        curve.append(right / n)
    out = {f"acc@{c}": round(curve[math.ceil(c / 100 * len(curve)) - 1], 3) for c in (50, 70, 90)}
    out["area"] = round(sum(curve) / len(curve), 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("rows", type=Path, nargs="+")
    ap.add_argument("--weights", type=Path)
    ap.add_argument("--threshold", type=float, action="append")
    ap.add_argument("--pair", action="append", default=[], help="a threshold by pair, e.g. zh>zh=0.1 (with *=T)")
    ap.add_argument("--questions", type=Path, action="append", required=True,
                    help="the question files the rows came from (for the questions' text)")
    a = ap.parse_args()
    verifier = Verifier.load(a.weights)
    rows, predict_ms = load(a.rows, verifier)
    text = {str(q["id"]): q["question"] for f in a.questions for q in map(json.loads, f.read_text().splitlines())}
    for r in rows:
        r["qt"] = question_type(text[r["id"]])
    ms = sorted(r.get("feature_ms", 0.0) for r in rows if r["x"] is not None)
    if ms:
        print(f"verifier time a question: features median {ms[len(ms) // 2]:.2f} ms, 95th percentile "
              f"{ms[int(0.95 * len(ms))]:.2f} ms, max {ms[-1]:.2f} ms; predict {predict_ms:.3f} ms ({len(ms)} spans)")
    print("margin alone:", json.dumps(outcome(rows, None), ensure_ascii=False))
    for name in sorted({r["set"] for r in rows}):
        rs = [r for r in rows if r["set"] == name]
        print(f"risk-coverage {name}: verifier {risk_coverage(rs, 'p')}  margin {risk_coverage(rs, 'margin')}")
    if a.pair:
        table = {k: float(v) for k, v in (x.split("=") for x in a.pair)}
        print(json.dumps(table), json.dumps(outcome(rows, table), ensure_ascii=False))
        return
    for t in a.threshold or (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9):
        print(t, json.dumps(outcome(rows, {"*": t}), ensure_ascii=False))


if __name__ == "__main__":
    main()
