"""Compares fusion settings on a question set with gold paragraphs against a built index.

    python bench/fusion_sweep.py INDEX_DIR [N] [--questions FILE] [--first]
        [--weights 0.3,0.4,...] [--coverage 0.2,0.3,...] [--no-rrf]

prints Recall@1, Recall@5 and MRR@10 for dense, BM25 and each BM25 weight (and coverage floor). The
questions default to cmrc2018-train; N (1500) are drawn at random (seed 7), or the first N with
--first. Each weight is applied to every question language, so run it on one language's set."""

import argparse
import json
import random
from pathlib import Path

from qa.api import Index
from qa.search.retriever import FusionWeights

BENCH = Path(__file__).resolve().parents[1].parent / "shared" / "bench"
QUESTIONS = BENCH / "cmrc2018-train" / "questions.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("index")
    ap.add_argument("n", nargs="?", type=int, default=1500)
    ap.add_argument("--questions", type=Path, default=QUESTIONS)
    ap.add_argument("--first", action="store_true", help="the first N questions instead of a random sample")
    ap.add_argument("--weights", default="0.3,0.4,0.5,0.6,0.7")
    ap.add_argument("--coverage", default="", help="coverage floors to try with each weight (default: tuned)")
    ap.add_argument("--no-rrf", action="store_true")
    args = ap.parse_args()

    index = Index.open(args.index)
    qs = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    n = min(args.n, len(qs))
    qs = qs[:n] if args.first else random.Random(7).sample(qs, n)
    vectors = index.embed_questions([q["question"] for q in qs])

    def score(weights: FusionWeights, mode: str = "hybrid") -> tuple[float, float, float]:
        index.retriever.weights = weights
        r1 = r5 = mrr = 0.0
        for q, v in zip(qs, vectors):
            hits = index.retriever.search(q["question"], v, 10, mode)
            ranked = list(dict.fromkeys(index.passages[c.index].doc for c in hits))[:10]
            first = next((i for i, d in enumerate(ranked, 1) if d in q["gold"]), None)
            r1 += first == 1
            r5 += bool(first and first <= 5)
            mrr += 1 / first if first else 0
        return round(r1 / n, 4), round(r5 / n, 4), round(mrr / n, 4)

    print(f"{n} questions from {args.questions}, {'first' if args.first else 'random'}; R@1, R@5, MRR@10")
    print("dense", score(FusionWeights(), "dense"), flush=True)
    print("bm25", score(FusionWeights(), "bm25"), flush=True)
    print("tuned", score(FusionWeights()), flush=True)
    floors = [float(c) for c in args.coverage.split(",") if c] or [None]
    for w in (float(x) for x in args.weights.split(",")):
        for c in floors:
            label = f"convex {w}" + (f" coverage {c}" if c is not None else "")
            print(label, score(FusionWeights(lexical=w, min_coverage=c)), flush=True)
    if not args.no_rrf:
        for k in (10, 60):
            print("rrf", k, score(FusionWeights(method="rrf", rrf_k=k)), flush=True)


if __name__ == "__main__":
    main()
