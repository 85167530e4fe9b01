"""Sweeps the cosine offset of Chinese passages for English questions in a mixed index.

    python bench/cross_lingual_sweep.py MIXED_INDEX ENGLISH_QUESTIONS [OFFSET ...]

Prints, for each offset, the English seeds-qa dev questions' hit@1 and hit@5 (their answers are in the
Chinese passages) and the English questions' Recall@1 (their gold paragraphs are English), both asked of
the same mixed index (e.g. seeds plus the first 240 squadshifts-wiki paragraphs, BENCHMARKS.md)."""

import json
import sys
from pathlib import Path

from qa.api import Index

SEEDS_DEV = Path(__file__).resolve().parents[2] / "shared" / "bench" / "seeds-qa" / "dev.jsonl"


def main() -> None:
    index = Index.open(sys.argv[1])
    english = [json.loads(line) for line in open(sys.argv[2], encoding="utf-8")]
    offsets = [float(x) for x in sys.argv[3:]] or [0.0, 0.02, 0.04, 0.06, 0.08]
    seeds = [json.loads(line) for line in SEEDS_DEV.open(encoding="utf-8")]
    seeds = [q for q in seeds if q.get("answers") and q["lang"] == "en"]
    ev = index.embed_questions([q["question"] for q in seeds])
    sv = index.embed_questions([q["question"] for q in english])
    for off in offsets:
        index.retriever.weights.cross_lingual_cosine = off
        ranks = []
        for q, v in zip(seeds, ev):
            chosen = index.answerer.diversify(index.retriever.search(q["question"], v, 30, "hybrid"), 5)
            ok = [any(a in index.passages[c.index].text for a in q["answers"]) for c in chosen]
            ranks.append(ok.index(True) + 1 if True in ok else 0)
        r1 = sum(index.passages[index.retriever.search(q["question"], v, 10, "hybrid")[0].index].doc in q["gold"]
                 for q, v in zip(english, sv)) / len(english)
        print(f"offset {off:.2f}: seeds-qa English hit@1 {sum(r == 1 for r in ranks)}/{len(ranks)} "
              f"hit@5 {sum(r > 0 for r in ranks)}/{len(ranks)}; English Recall@1 {r1:.4f}", flush=True)


if __name__ == "__main__":
    main()
