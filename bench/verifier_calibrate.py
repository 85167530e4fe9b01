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

from qa.judge.features import NAMES, refresh_typing
from qa.judge.qtype import NO_SPAN, question_type
from qa.judge.spantype import contradicts
from qa.judge.verifier import Verifier
from qa.reader.reading import language_of


# How the judge uses the probability (--read-on, --alternate-margin, --unit-rule): see qa/judge/judging.py.
DECISION = {"read_on": 0, "alternate_margin": 0.0, "unit_rule": False}
UNIT = NAMES.index("unit_match")


def load(paths: list[Path], verifier: Verifier, text: dict[str, str]) -> tuple[list[dict], float]:
    rows, n = [], 0
    t0 = time.perf_counter()
    for path in paths:
        name = path.stem.replace("rows-", "")
        for line in path.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            r["set"] = name
            r["qt"] = question_type(text[r["id"]])
            r["lang"] = language_of(text[r["id"]])
            for c in r.get("candidates", []):
                c["x"] = refresh_typing(c["x"], c["answer"], r["qt"])
                c["p"] = float(verifier.probability(np.array(c["x"]))[0])
                n += 1
            rows.append(r)
    predict_ms = 1000 * (time.perf_counter() - t0) / max(1, n)
    return rows, predict_ms


def decide(r: dict, thresholds: dict[str, float] | None) -> tuple[bool, float, float | None]:
    """(abstained, F1 given, confidence) under the judge's decision (qa/judge/judging.py) with DECISION or,
    with ``thresholds`` None, the reader's margin alone."""
    if r["type"] in NO_SPAN:
        return r["retrieval_abstained"], 0.0, None
    if thresholds is None:
        return r["reader_abstained"], r["f1"], r["margin"]
    chosen = next((c for c in r.get("candidates", []) if c["chosen"]), None)
    if chosen is None:
        return r["reader_abstained"], r["f1"], None

    def ok(c: dict) -> bool:
        unit = DECISION["unit_rule"] and c["x"][UNIT] == 0.0
        return c["p"] >= thresholds.get(c["pair"], thresholds["*"]) and not contradicts(c["answer"], r["qt"]) \
            and not unit

    if ok(chosen) or r["retrieval_abstained"] or not DECISION["read_on"]:
        return r["retrieval_abstained"] or not ok(chosen), chosen["f1"], chosen["p"]
    others = [c for c in r["candidates"] if not c["chosen"] and c["rank"] <= DECISION["read_on"]
              and c["margin"] >= DECISION["alternate_margin"] and ok(c)]
    if not others:
        return True, chosen["f1"], chosen["p"]
    best = max(others, key=lambda c: c["margin"])
    return False, best["f1"], best["p"]


def outcome(rows: list[dict], thresholds: dict[str, float] | None) -> dict:
    res = {}
    for name in sorted({r["set"] for r in rows}):
        rs = [r for r in rows if r["set"] == name]
        ds = [(r, decide(r, thresholds)) for r in rs]
        un = [d for r, d in ds if not r["answerable"]]
        an = [(r, d) for r, d in ds if r["answerable"]]
        out = {"unanswerable_abstained": f"{sum(d[0] for d in un)}/{len(un)}",
               "answerable_abstained": f"{sum(d[0] for _, d in an)}/{len(an)}"}
        for lang in ("zh", "en"):
            f1s = [0.0 if d[0] or r["type"] in NO_SPAN else 100 * d[1] for r, d in an if r["lang"] == lang]
            if f1s:
                out[f"f1_{lang}"] = round(sum(f1s) / len(f1s), 1)
        res[name] = out
    return res


def risk_coverage(rows: list[dict], thresholds: dict[str, float] | None) -> dict:
    """Accuracy of the answers given, most confident first (verifier probability, or the margin alone)."""
    scored = []
    for r in rows:
        _, f, conf = decide(r, thresholds)
        scored.append((-math.inf if conf is None else conf, r["answerable"] and f >= 0.5 and r["type"] not in NO_SPAN))
    scored.sort(key=lambda t: -t[0])
    curve, right = [], 0
    for n, (_, ok) in enumerate(scored, 1):
        right += ok
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
    ap.add_argument("--read-on", type=int, default=None, help="top passages whose spans may answer instead")
    ap.add_argument("--alternate-margin", type=float, default=None, help="the reader margin such a span needs")
    ap.add_argument("--unit-rule", choices=("on", "off"), default=None, help="wrong measure word never answers")
    a = ap.parse_args()
    verifier = Verifier.load(a.weights)
    DECISION.update(read_on=verifier.read_on, alternate_margin=verifier.alternate_margin, unit_rule=verifier.unit_rule)
    for key, value in (("read_on", a.read_on), ("alternate_margin", a.alternate_margin), ("unit_rule", a.unit_rule)):
        if value is not None:
            DECISION[key] = value == "on" if key == "unit_rule" else value
    print("decision:", json.dumps(DECISION))
    text = {str(q["id"]): q["question"] for f in a.questions for q in map(json.loads, f.read_text().splitlines())}
    rows, predict_ms = load(a.rows, verifier, text)
    ms = sorted(c.get("feature_ms", 0.0) for r in rows for c in r.get("candidates", []))
    if ms:
        print(f"verifier time a question: features median {ms[len(ms) // 2]:.2f} ms, 95th percentile "
              f"{ms[int(0.95 * len(ms))]:.2f} ms, max {ms[-1]:.2f} ms; predict {predict_ms:.3f} ms ({len(ms)} spans)")
    print("margin alone:", json.dumps(outcome(rows, None), ensure_ascii=False))
    table = {k: float(v) for k, v in (x.split("=") for x in a.pair)} if a.pair else {"*": 0.5}
    for name in sorted({r["set"] for r in rows}):
        rs = [r for r in rows if r["set"] == name]
        print(f"risk-coverage {name}: verifier {risk_coverage(rs, table)}  margin {risk_coverage(rs, None)}")
    if a.pair:
        print(json.dumps(table), json.dumps(outcome(rows, table), ensure_ascii=False))
        return
    for t in a.threshold or (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9):
        print(t, json.dumps(outcome(rows, {"*": t}), ensure_ascii=False))


if __name__ == "__main__":
    main()
