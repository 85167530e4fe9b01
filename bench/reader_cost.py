"""Where a question's reading time goes, and the close call the README question rests on.

    python bench/reader_cost.py [--work DIR] [--questions 100]

Four figures, each measured side by side in this one run:
- ``reading``: warm asks on the cmrc2018-trial index: windows and tokens the reader reads a question, and the
  share of the time the reader's model takes;
- ``window``: one 380-token window through the ONNX reader, float32 and int8 alternated (median of 7);
- ``tokenizer``: in fresh processes, alternated, ``Tokenizer.from_file`` of the cached tokenizer copy, and the
  Unigram model alone built from its 250,002 pieces (the part no file format can skip);
- ``tie``: the README question on the seeds, in float32 and in int8 (fresh processes): the answer, the
  reader's margins in the two top passages and the verifier's probability of each span.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from speedlib.common import SHARED, child_env, cpu_description, ensure_index, log  # noqa: E402

QUESTION = "株洲市中心医院的党委书记是谁？"
TRIAL = SHARED.parent / "cmrc2018-trial"


def reading(index_dir: Path, n: int) -> dict:
    from qa.api import Index

    qs = [json.loads(line)["question"] for line in (TRIAL / "questions.jsonl").open(encoding="utf-8")][: n + 3]
    idx = Index.open(index_dir)
    for q in qs[:3]:
        idx.ask(q)
    idx.reader.forget()
    engine = idx.reader.engine
    plain = engine.logits
    lengths: list[int] = []
    in_model = [0.0]

    def logits(windows, batch_size=16):
        lengths.extend(len(w.input_ids) for w in windows)
        t0 = time.perf_counter()
        out = plain(windows, batch_size)
        in_model[0] += time.perf_counter() - t0
        return out

    engine.logits = logits
    windows, tokens, total = [], [], 0.0
    for q in qs[3:]:
        before = len(lengths)
        t0 = time.perf_counter()
        idx.ask(q)
        total += time.perf_counter() - t0
        windows.append(len(lengths) - before)
        tokens.append(sum(lengths[before:]))
    return {"questions": n, "windows_median": statistics.median(windows), "windows_mean": round(statistics.mean(windows), 2),
            "tokens_median": statistics.median(tokens), "tokens_mean": round(statistics.mean(tokens)),
            "ms_per_question_mean": round(1000 * total / n, 1), "reader_model_share": round(in_model[0] / total, 3)}


def window() -> dict:
    import numpy as np

    from qa.reader.model import Reader

    text = next(json.loads(line)["text"] for line in (TRIAL / "corpus.jsonl").open(encoding="utf-8")
                if len(json.loads(line)["text"]) > 700)
    readers = {p: Reader(engine="onnx", precision=p) for p in ("fp32", "int8")}
    ids = readers["fp32"].tokenizer.encode(text).ids[:380]
    feed = {"input_ids": np.array([ids], dtype=np.int64), "attention_mask": np.ones((1, len(ids)), dtype=np.int64)}
    times: dict[str, list[float]] = {p: [] for p in readers}
    for _ in range(8):
        for p, r in readers.items():
            t0 = time.perf_counter()
            r.engine.session.run(None, feed)
            times[p].append(time.perf_counter() - t0)
    return {"tokens": len(ids), **{f"{p}_ms": round(1000 * statistics.median(t[1:]), 1) for p, t in times.items()}}


_TOKENIZER_CHILD = """
import json, sys, time
from tokenizers import Tokenizer, models
path, what = sys.argv[1], sys.argv[2]
if what == "file":
    t0 = time.perf_counter(); Tokenizer.from_file(path)
else:
    model = json.load(open(path, encoding="utf-8"))["model"]
    vocab = [tuple(v) for v in model["vocab"]]
    t0 = time.perf_counter(); models.Unigram(vocab, model["unk_id"], model["byte_fallback"])
print(time.perf_counter() - t0)
"""


def tokenizer() -> dict:
    from qa.encoder.model import ensure_default_model
    from qa.encoder.onnx_runtime import compact_path, shared_tokens

    base = ensure_default_model(None)
    shared_tokens(base)  # writes the compact copy if it is not there yet
    copy = compact_path(base / "tokenizer.json")
    out: dict[str, list[float]] = {"file": [], "unigram": []}
    for _ in range(3):
        for what in out:
            p = subprocess.run([sys.executable, "-c", _TOKENIZER_CHILD, str(copy), what], capture_output=True,
                               text=True, check=True)
            out[what].append(round(float(p.stdout), 3))
    return {"from_file_s": out["file"], "unigram_build_s": out["unigram"]}


_TIE_CHILD = """
import json, sys
from qa.api import Index
from qa.judge.judging import accepted, evidence_of
from qa.judge.qtype import question_type
from qa.reader.reading import read_more
idx = Index.open(sys.argv[1])
q = sys.argv[2]
a = idx.ask(q)
both = read_more(idx.reader, [a], [[0, 1]])[0]
vec = idx.embed_questions([q])[0]
spans = []
for h in both.hits[:2]:
    p = accepted(idx.verifier, both, h, question_type(q), vec, evidence_of(idx.answerer))[1] if h.answer else None
    spans.append({"rank": h.rank, "score": round(h.score, 4), "span": h.answer and h.answer.text,
                  "margin": h.answer and round(h.answer.margin, 2), "verifier": p and round(p, 2)})
print(json.dumps({"answer": a.answer and a.answer.text, "top_two": spans}, ensure_ascii=False))
"""


def tie(seeds_index: Path) -> dict:
    out = {}
    for precision in ("fp32", "int8"):
        env = child_env() | {"QA_READER_PRECISION": precision, "PYTHONPATH": str(ROOT)}
        p = subprocess.run([sys.executable, "-c", _TIE_CHILD, str(seeds_index), QUESTION], capture_output=True,
                           text=True, env=env, cwd=ROOT, check=True)
        out[precision] = json.loads(p.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, help="keep the indexes here [default: a temporary folder]")
    ap.add_argument("--questions", type=int, default=100)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="qa-reader-cost-") as tmp:
        work = args.work or Path(tmp)
        trial_index, seeds_index = work / "index-trial", work / "index-seeds"
        ensure_index(trial_index, TRIAL / "corpus.jsonl", None, "reading", "cmrc2018-trial")
        ensure_index(seeds_index, ROOT / "seeds", None, "tie", "seeds")
        res = {"machine": cpu_description()}
        for name, run in (("reading", lambda: reading(trial_index, args.questions)), ("window", window),
                          ("tokenizer", tokenizer), ("tie", lambda: tie(seeds_index))):
            log(f"[{name}]")
            res[name] = run()
        print(json.dumps(res, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
