"""Compares fusion settings on a sample of cmrc2018-train questions against a built index:
`python bench/fusion_sweep.py INDEX_DIR [N]` prints Recall@1, Recall@5 and MRR@10 for each."""

import json
import random
import sys
from pathlib import Path

from qa.api import Index
from qa.retrieve import FusionWeights

QUESTIONS = Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "cmrc2018-train" / "questions.jsonl"


def main() -> None:
    index = Index.open(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1500
    qs = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines()]
    qs = random.Random(7).sample(qs, n)
    vectors = index.embed_questions([q["question"] for q in qs])

    def score(weights: FusionWeights, mode: str = "hybrid") -> tuple[float, float, float]:
        index.retriever.weights = weights
        r1 = r5 = mrr = 0.0
        for q, v in zip(qs, vectors):
            ranked = list(dict.fromkeys(index.passages[c.index].doc for c in index.retriever.search(q["question"], v, 10, mode)))
            first = next((i for i, d in enumerate(ranked, 1) if d in q["gold"]), None)
            r1 += first == 1
            r5 += bool(first and first <= 5)
            mrr += 1 / first if first else 0
        return round(r1 / n, 4), round(r5 / n, 4), round(mrr / n, 4)

    print("dense", score(FusionWeights(), "dense"))
    print("bm25", score(FusionWeights(), "bm25"))
    for w in (0.3, 0.4, 0.5, 0.6, 0.7):
        print("convex", w, score(FusionWeights(lexical=w)))
    for k in (10, 60):
        print("rrf", k, score(FusionWeights(method="rrf", rrf_k=k)))


if __name__ == "__main__":
    main()
