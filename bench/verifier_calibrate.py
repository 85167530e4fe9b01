"""The verifier's probability against the reader's margin on the calibration sets, and each threshold's outcome.

    python bench/verifier_calibrate.py --set seeds=DIR:../shared/bench/seeds-qa/dev.jsonl \
        --set trial=DIR:../shared/bench/cmrc2018-trial/questions.jsonl:200 [--rows FILE]

Each --set is name=index:questions[:limit]. For every question: its language pair, whether the retrieval
evidence abstains, the verifier's probability, whether the span contradicts the question's type, and the
answer's F1. Then, for thresholds 0.05..0.95, what each set would score (abstained, F1), and the verifier's
own time a question (features + predict, in process).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.api import Index  # noqa: E402
from qa.evaluation.metrics import f1  # noqa: E402
from qa.judge.judging import answer_features, pair_of  # noqa: E402
from qa.judge.qtype import question_type  # noqa: E402
from qa.judge.spantype import contradicts  # noqa: E402


def collect(index: Index, questions: list[dict], name: str) -> tuple[list[dict], list[float]]:
    texts = [q["question"] for q in questions]
    vecs = index.embed_questions(texts)
    verifier = index.verifier
    verifier.thresholds = {"*": 0.0}  # every span stays answered: only the probability is wanted here
    answers = index.answer_vectors(texts, vecs, top_k=5, abstain=True, reader=True)
    rows, times = [], []
    for q, a, v in zip(questions, answers, vecs):
        qt = question_type(q["question"])
        t0 = time.perf_counter()
        x = answer_features(a, qt, v, index._evidence) if a.answer is not None and not qt.spanless else None
        p = float(verifier.probability(x)[0]) if x is not None else None
        times.append(time.perf_counter() - t0)
        holder = next((h for h in a.hits if a.answer is not None and h.answer is a.answer), None)
        answers_ = q.get("answers") or []
        said = a.answer.text if a.answer is not None else None
        rows.append({"set": name, "id": q["id"], "answerable": bool(answers_), "type": qt.kind,
                     "pair": pair_of(q["question"], holder) if holder else f"{q.get('lang', '?')}>?",
                     # at threshold 0: abstained by retrieval evidence, a contradicting type, or no span found
                     "abstained0": a.abstained,
                     "p": p, "margin": a.answer.margin if a.answer is not None else None,
                     "contradicts": bool(said) and contradicts(said, qt), "answer": said,
                     "f1": round(100 * f1(said, answers_), 1) if answers_ else None})
    return rows, times


def outcome(rows: list[dict], thresholds: dict[str, float]) -> dict:
    res = {}
    for name in sorted({r["set"] for r in rows}):
        rs = [r for r in rows if r["set"] == name]

        def abstains(r):
            if r["p"] is None:
                return r["abstained0"]
            return r["abstained0"] or r["p"] < thresholds.get(r["pair"], thresholds["*"])
        un = [r for r in rs if not r["answerable"]]
        an = [r for r in rs if r["answerable"]]
        f1s = {lang: [0 if abstains(r) else (r["f1"] or 0) for r in an if r["pair"].startswith(lang)]
               for lang in ("zh", "en")}
        res[name] = {"unanswerable_abstained": f"{sum(map(abstains, un))}/{len(un)}",
                     "answerable_abstained": f"{sum(map(abstains, an))}/{len(an)}",
                     **{f"f1_{k}": round(sum(v) / len(v), 1) for k, v in f1s.items() if v}}
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", action="append", required=True, help="name=index:questions[:limit]")
    ap.add_argument("--rows", type=Path, help="write the per-question rows here (JSON)")
    a = ap.parse_args()
    rows, times = [], []
    for spec in a.set:
        name, rest = spec.split("=", 1)
        parts = rest.split(":")
        qs = [json.loads(line) for line in Path(parts[1]).read_text(encoding="utf-8").splitlines() if line.strip()]
        qs = qs[: int(parts[2])] if len(parts) > 2 else qs
        r, t = collect(Index.open(parts[0]), qs, name)
        rows += r
        times += t
    if a.rows:
        a.rows.write_text(json.dumps(rows, ensure_ascii=False, indent=0), encoding="utf-8")
    judged = sorted(t for t in times)
    print(f"verifier time a question (features + predict): median {1000 * judged[len(judged) // 2]:.2f} ms, "
          f"max {1000 * judged[-1]:.2f} ms over {len(judged)}")
    for t in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9):
        print(t, json.dumps(outcome(rows, {"*": t}), ensure_ascii=False))


if __name__ == "__main__":
    main()
