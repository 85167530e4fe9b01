"""Dense R@1 of each engine and precision on a bench set, side by side: passages and questions embedded with
torch (float32, bfloat16) and ONNX Runtime (float32, int8), in every pairing that an index can meet.

    python bench/engines_quality.py ../shared/bench/cmrc2018-trial [--limit N] [--engines torch-float32,onnx-float32]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.encoder.embedder import Embedder, passage_text
from qa.types import Passage


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--limit", type=int, default=0, help="first N questions (their paragraphs and all others)")
    ap.add_argument("--engines", default="torch-float32,onnx-float32,onnx-int8")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    corpus = [json.loads(line) for line in (a.folder / "corpus.jsonl").open(encoding="utf-8")]
    qs = [json.loads(line) for line in (a.folder / "questions.jsonl").open(encoding="utf-8")]
    qs = qs[: a.limit] if a.limit else qs
    row = {r["id"]: i for i, r in enumerate(corpus)}
    texts = [passage_text(Passage(r["id"], 0, 0, 0, 1, r["text"], r.get("title", "")))
             for r in corpus]
    gold = [{row[g] for g in q["gold"] if g in row} for q in qs]
    pvec, qvec, secs = {}, {}, {}
    for spec in a.engines.split(","):
        engine, precision = spec.split("-")
        emb = Embedder(None, engine=engine, precision=precision)
        t0 = time.perf_counter()
        pvec[spec] = emb.encode_passages(texts)
        secs[spec] = time.perf_counter() - t0
        qvec[spec] = emb.encode_queries([q["question"] for q in qs])
    out = {"set": a.folder.name, "passages": len(texts), "questions": len(qs), "r_at_1": {},
           "passages_per_s": {k: round(len(texts) / v, 2) for k, v in secs.items()},
           "cosine_to_first": {}}
    first = next(iter(pvec))
    for p in pvec:
        out["cosine_to_first"][p] = round(float(np.mean(np.sum(pvec[p] * pvec[first], axis=1))), 5)
        for q in qvec:
            top = np.argmax(qvec[q] @ pvec[p].T, axis=1)
            out["r_at_1"][f"passages {p} / questions {q}"] = round(float(np.mean([t in g for t, g in zip(top, gold)])), 4)
    print(json.dumps(out, indent=None if a.json else 2, ensure_ascii=False))


if __name__ == "__main__":
    main()
