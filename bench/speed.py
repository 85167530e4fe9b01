"""Speed and scale benchmark: indexing, re-indexing, question latency, start-up, and FAISS at 100k/1M vectors.

    python bench/speed.py [--quick] [--json PATH]

Everything compared is measured in the same run, side by side, because the machine may be shared.
``--quick`` skips the 1M-vector FAISS case (the slowest part: building its HNSW graph takes minutes).
Each part lives in its own module of bench/speedlib/; this script picks the parts and prints the report.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

from speedlib.common import ROOT, SHARED, corpus_texts, cpu_description, ensure_index, load_questions, log, maxrss_mb, now
from speedlib.vectors import synthetic  # noqa: F401  (bench/scale.py and tests/test_scale.py import it from here)

PARTS = "index,ask,process,server,precision,engines,embedding,verifier,faiss"


def run_parts(parts: set[str], args: argparse.Namespace, work: Path, cache_dir: Path, res: dict[str, Any]) -> None:
    """Run the chosen parts in their fixed order, adding each one's figures to ``res``."""
    cmrc_corpus, cmrc_questions = args.cmrc / "corpus.jsonl", args.cmrc / "questions.jsonl"
    cmrc_index = work / "index-cmrc"
    if "index" in parts:
        from speedlib.indexing import bench_indexing

        from qa.encoder.model import load_model

        t0 = now()
        model = load_model(None, cache_dir=cache_dir)
        res["model_load_s"] = now() - t0
        res["indexing"] = {}
        for name, root in (("seeds", ROOT / "seeds"), ("cmrc", cmrc_corpus)):
            res["indexing"][name] = bench_indexing(name, root, work, model, cache_dir)
        del model
    if "ask" in parts or "process" in parts:
        ensure_index(cmrc_index, cmrc_corpus, cache_dir, "ask", "cmrc")
    if "ask" in parts:
        from speedlib.questions import bench_questions

        log("[ask] warm questions")
        res["questions"] = bench_questions(cmrc_index, cmrc_questions, cache_dir)
    if "process" in parts:
        from speedlib.cold_start import bench_processes

        log("[process] cold ask and --help")
        res["processes"] = bench_processes(cmrc_index, load_questions(cmrc_questions, 1)[0], 3)
    if "server" in parts:
        from speedlib.serving import bench_server

        seeds_index = work / "index-seeds"
        ensure_index(seeds_index, ROOT / "seeds", cache_dir, "server", "seeds")
        log("[server] qa ask --server beside a cold qa ask")
        res["server"] = bench_server(seeds_index, "株洲市中心医院的党委书记是谁？", 5)
    res["maxrss_after_qa_mb"] = maxrss_mb()
    if "precision" in parts:
        from speedlib.precision import bench_precision

        log("[precision] float32 vs bfloat16")
        res["precision"] = bench_precision(corpus_texts(ROOT / "seeds"), work, cache_dir)
    if "engines" in parts:
        from speedlib.engines import bench_engines, bench_serve_rss

        seeds_index = work / "index-seeds"
        ensure_index(seeds_index, ROOT / "seeds", cache_dir, "engines", "seeds")
        ensure_index(cmrc_index, cmrc_corpus, cache_dir, "engines", "cmrc")
        log("[engines] torch and ONNX Runtime, questions side by side")
        res["engines"] = bench_engines(seeds_index, cmrc_index, cmrc_questions, "株洲市中心医院的党委书记是谁？",
                                       args.quick)
        res["serve_rss"] = bench_serve_rss(seeds_index, "株洲市中心医院的党委书记是谁？")
    if "embedding" in parts:
        from speedlib.engines import bench_embedding

        log("[embedding] passages a second by engine")
        texts = corpus_texts(ROOT / "seeds")
        res["embedding"] = bench_embedding(texts[:64] if args.quick else texts, cache_dir)
    if "verifier" in parts:
        from speedlib.judge import bench_verifier

        seeds_index = work / "index-seeds"
        ensure_index(seeds_index, ROOT / "seeds", cache_dir, "verifier", "seeds")
        log("[verifier] the judgement's cost a question")
        res["verifier"] = bench_verifier(seeds_index, SHARED.parent / "seeds-qa" / "dev.jsonl")
    if "faiss" in parts:
        from speedlib.vectors import bench_faiss

        sweep = [64, 128, 256]
        res["faiss"] = [bench_faiss(100_000, sweep, ivf=True)]
        if not args.quick:
            res["faiss"].append(bench_faiss(1_000_000, sweep, ivf=True))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the 1M-vector FAISS case")
    ap.add_argument("--json", type=Path, help="also write the figures here as JSON")
    ap.add_argument("--work", type=Path, help="keep the benchmark indexes here [default: a temporary folder]")
    ap.add_argument("--only", default=PARTS,
                    help="comma-separated parts to run: index, ask, process, server, precision, engines, "
                    "embedding, verifier, faiss")
    ap.add_argument("--cmrc", type=Path, default=SHARED, help="folder with corpus.jsonl and questions.jsonl")
    args = ap.parse_args(argv)
    parts = {p.strip() for p in args.only.split(",")}
    os.environ.setdefault("QA_CACHE_DIR", "/work/cache")
    cache_dir = Path(os.environ["QA_CACHE_DIR"])
    import logging

    logging.basicConfig(level=logging.WARNING)
    for noisy in ("sentence_transformers", "transformers", "jieba"):
        logging.getLogger(noisy).setLevel(logging.ERROR)

    import torch
    from speedlib.report import report

    res: dict[str, Any] = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
                                      f"torch threads {torch.get_num_threads()}, python {platform.python_version()}; "
                                      f"{cpu_description()}",
                           "quick": args.quick}
    t_start = now()
    with contextlib.ExitStack() as stack:
        work = args.work or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="qa-speed-")))
        work.mkdir(parents=True, exist_ok=True)
        run_parts(parts, args, work, cache_dir, res)
    res["maxrss_mb"] = maxrss_mb()
    res["total_s"] = now() - t_start
    text = report(res)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
