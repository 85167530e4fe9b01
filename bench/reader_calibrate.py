"""The reader's no-answer evidence on the calibration sets, and what each abstain threshold would do.

    python bench/reader_calibrate.py --seeds-index DIR --trial-index DIR [--trial-limit N] [--json FILE]

Sets (all from ../shared/bench): seeds-qa dev (answerable and unanswerable, Chinese and English), the
first 200 cmrc2018-train questions asked of the seeds (none answerable there), cmrc2018-trial questions
asked of the trial corpus (all answerable). For each question: the best margin (span score minus
no-answer score) over the passages read, the language pair, and today's retrieval-evidence verdict.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.api import Index  # noqa: E402
from qa.evaluation.metrics import f1  # noqa: E402
from qa.reader.reading import language_of  # noqa: E402

BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"


def rows_for(index: Index, questions: list[dict], name: str) -> list[dict]:
    texts = [q["question"] for q in questions]
    vecs = index.embed_questions(texts)
    plain = index.answer_vectors(texts, vecs, top_k=5, abstain=True, reader=False)
    read = index.answer_vectors(texts, vecs, top_k=5, abstain=False, reader=True)
    out = []
    for q, a0, a1 in zip(questions, plain, read):
        best = a1.answer
        holder = next((h for h in a1.hits if h.answer is best), None) if best else None
        answers = q.get("answers") or []
        out.append({
            "set": name, "id": q["id"], "question": q["question"], "answerable": bool(answers),
            "pair": f"{language_of(q['question'])}>{language_of(holder.passage.text) if holder else '?'}",
            "margin": round(best.margin, 3) if best else None, "answer": best.text if best else None,
            "f1": round(100 * f1(best.text if best else None, answers), 1) if answers else None,
            "evidence_abstains": a0.abstained,
        })
    return out


def outcome(rows: list[dict], thresholds: dict[str, float], combine: str) -> dict:
    def abstains(r):
        reader = r["margin"] is None or r["margin"] < thresholds.get(r["pair"], thresholds["*"])
        return {"reader": reader, "either": reader or r["evidence_abstains"],
                "both": reader and r["evidence_abstains"]}[combine]

    res = {}
    for name in sorted({r["set"] for r in rows}):
        rs = [r for r in rows if r["set"] == name]
        un = [r for r in rs if not r["answerable"]]
        an = [r for r in rs if r["answerable"]]
        res[name] = {"unanswerable_abstained": f"{sum(map(abstains, un))}/{len(un)}",
                     "answerable_abstained": f"{sum(map(abstains, an))}/{len(an)}",
                     "answer_f1": round(sum(0 if abstains(r) else r["f1"] for r in an) / len(an), 1) if an else None}
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds-index", type=Path, required=True)
    ap.add_argument("--trial-index", type=Path, required=True)
    ap.add_argument("--trial-limit", type=int, default=1002)
    ap.add_argument("--json", type=Path, default=None, help="write every question's row here")
    a = ap.parse_args()
    load = lambda p: [json.loads(x) for x in p.read_text(encoding="utf-8").splitlines() if x.strip()]  # noqa: E731
    seeds = Index.open(a.seeds_index)
    rows = rows_for(seeds, load(BENCH / "seeds-qa" / "dev.jsonl"), "seeds-dev")
    cmrc = [q | {"answers": []} for q in load(BENCH / "cmrc2018-train" / "questions.jsonl")[:200]]
    rows += rows_for(seeds, cmrc, "cmrc-on-seeds")
    trial = Index.open(a.trial_index)
    rows += rows_for(trial, load(BENCH / "cmrc2018-trial" / "questions.jsonl")[: a.trial_limit], "trial")
    if a.json:
        a.json.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    for r in rows:
        if r["set"] == "seeds-dev":
            print(f"{r['id']:5} {r['pair']:6} {'ans' if r['answerable'] else 'UNA'} margin {r['margin']!s:>7} "
                  f"evidence_abstains {r['evidence_abstains']!s:5} f1 {r['f1']!s:>5} {r['answer']!r}")
    for pair in sorted({r["pair"] for r in rows}):
        ms = sorted(r["margin"] for r in rows if r["pair"] == pair and r["margin"] is not None)
        print(f"{pair}: {len(ms)} questions, margins {ms[0] if ms else None} .. {ms[-1] if ms else None}")
    for combine in ("reader", "either", "both"):
        for t in (-4, -2, -1, 0, 1, 2, 3, 4, 6):
            print(combine, t, json.dumps(outcome(rows, {"*": t}, combine), ensure_ascii=False))


if __name__ == "__main__":
    main()
