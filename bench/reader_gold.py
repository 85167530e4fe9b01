"""Reader alone on gold paragraphs, straight from a bench folder (no index): EM/F1 by CMRC 2018's rule.

    python bench/reader_gold.py ../shared/bench/cmrc2018-trial [--weights FILE] [--limit N]
    python bench/reader_gold.py ../shared/bench/squadshifts-wiki --held-out --limit 600

``--held-out`` keeps the questions of odd-numbered articles only: the reader trains on the even ones of a
second folder (`qa train-reader --extra-data`).

`qa eval QUESTIONS --index DIR --gold-passage` gives the same figures through an index; this script
needs no index, so it can score a weights file while nothing else is built.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.evaluation.metrics import exact_match, f1  # noqa: E402
from qa.reader.examples import article_of  # noqa: E402
from qa.reader.model import Reader  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--weights", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--held-out", action="store_true", help="only questions on odd-numbered articles")
    ap.add_argument("--int8", action="store_true",
                    help="read with the linear layers quantized to int8 (torch dynamic quantization), for comparison")
    ap.add_argument("--engine", default="auto", help="auto, onnx or torch (QA_ENGINE picks for auto)")
    ap.add_argument("--precision", default="fp32", help="fp32, or int8 (the ONNX engine's dynamic int8)")
    ap.add_argument("--breakdown", action="store_true",
                    help="also count answers by how they miss: inside the reference, around it, overlapping, apart")
    a = ap.parse_args()
    corpus = {r["id"]: r for r in map(json.loads, (a.folder / "corpus.jsonl").open(encoding="utf-8"))}
    qs = [json.loads(line) for line in (a.folder / "questions.jsonl").open(encoding="utf-8")]
    if a.held_out:
        qs = [q for q in qs if article_of(q["gold"][0]) % 2 == 1]
    qs = qs[: a.limit] if a.limit else qs
    reader = Reader(a.weights, engine="torch" if a.int8 else a.engine, precision=a.precision)
    if a.int8:
        import warnings

        import torch

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the API is deprecated in this torch; measured, not shipped
            reader.engine.module = torch.ao.quantization.quantize_dynamic(reader.engine.module, {torch.nn.Linear}, dtype=torch.qint8)
        reader.engine.bf16 = False
    t0 = time.perf_counter()
    spans = reader.read([(q["question"], corpus[q["gold"][0]]["title"], corpus[q["gold"][0]]["text"]) for q in qs])
    seconds = time.perf_counter() - t0
    em = f1s = 0.0
    kinds = dict.fromkeys(("exact", "inside the reference", "around the reference", "overlapping", "apart"), 0)
    for q, s in zip(qs, spans):
        said = corpus[q["gold"][0]]["text"][s.start:s.end] if s else None
        hit, part = exact_match(said, q["answers"]), f1(said, q["answers"])
        em += hit
        f1s += part
        said = said or ""
        kinds["exact" if hit else "inside the reference" if said and any(said in a for a in q["answers"])
              else "around the reference" if said and any(a in said for a in q["answers"])
              else "overlapping" if part > 0 else "apart"] += 1
    out = {"questions": len(qs), "em": round(100 * em / len(qs), 1), "f1": round(100 * f1s / len(qs), 1),
           "ms_per_question": round(1000 * seconds / len(qs), 1), "weights": str(reader.path),
           "engine": reader.engine.name, "precision": a.precision}
    if a.breakdown:
        out["answers"] = kinds
    print(json.dumps(out) if a.json else "\n".join(f"{k}: {v}" for k, v in out.items()))


if __name__ == "__main__":
    main()
