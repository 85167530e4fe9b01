"""Speed and scale benchmark: indexing, re-indexing, question latency, start-up, and FAISS at 100k/1M vectors.

    python bench/speed.py [--quick] [--json PATH]

Everything compared is measured in the same run, side by side, because the machine may be shared.
``--quick`` skips the 1M-vector FAISS case (the slowest part: building its HNSW graph takes minutes).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared" / "bench" / "cmrc2018-train"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/bench/cmrc2018-train")
DIM = 384


# -- helpers ----------------------------------------------------------------------------------------
def now() -> float:
    return time.perf_counter()


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs, dtype=np.float64), q)) if xs else float("nan")


def maxrss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


TIME = Path("/usr/bin/time")


def run_child(args: list[str], env: dict | None = None) -> tuple[float, float, int, str]:
    """Wall seconds, peak RSS (MB, nan if unknown), exit status and stdout of a new process.

    The peak RSS comes from /usr/bin/time: a child forked straight from this (large) process would
    report this process's RSS as its own peak."""
    wrap = [str(TIME), "-f", "maxrss_kb=%M"] if TIME.is_file() else []
    t0 = now()
    p = subprocess.run(wrap + args, capture_output=True, env=env, cwd=ROOT, check=False)
    wall = now() - t0
    err = p.stderr.decode("utf-8", "replace")
    kb = [line.split("=", 1)[1] for line in err.splitlines() if line.startswith("maxrss_kb=")]
    rss = int(kb[-1]) / 1024 if kb and kb[-1].strip().isdigit() else float("nan")
    return wall, rss, p.returncode, p.stdout.decode("utf-8", "replace")


class PhaseTimer:
    """Wraps named functions of a module with timers, to split a build into its phases."""

    def __init__(self, targets: list[tuple[object, str, str]]):
        self.targets = targets
        self.times: dict[str, float] = {}
        self.saved: list[tuple[object, str, object]] = []

    def __enter__(self):
        for obj, attr, label in self.targets:
            fn = getattr(obj, attr, None)
            if fn is None:
                continue
            self.saved.append((obj, attr, fn))
            setattr(obj, attr, self._wrap(fn, label))
        return self

    def _wrap(self, fn, label):
        @functools.wraps(fn)
        def inner(*a, **kw):
            t0 = now()
            try:
                return fn(*a, **kw)
            finally:
                self.times[label] = self.times.get(label, 0.0) + now() - t0

        return inner

    def __exit__(self, *exc):
        for obj, attr, fn in reversed(self.saved):
            setattr(obj, attr, fn)


def build_phases():
    """What to time inside Index.build. Nested: model load is inside embed, faiss build inside write index."""
    import qa.index as store
    from qa import build, embed, model

    targets = [
        (build, "split_passages", "split"),
        (build.Reuse, "open", "load old index"),
        (model, "load_model", "model load"),
        (embed.Embedder, "encode_passages", "embed"),
        (store, "publish_generation", "write index"),
        (store, "make_dense", "faiss build"),
    ]
    return targets


@contextlib.contextmanager
def time_lexical(times: dict):
    from qa import lexical

    orig = lexical.bm25_from_ids

    def bm25_from_ids(ids, vocab):
        t0 = now()
        try:
            return orig(ids, vocab)
        finally:
            times["bm25 build"] = times.get("bm25 build", 0.0) + now() - t0

    lexical.bm25_from_ids = bm25_from_ids
    try:
        yield
    finally:
        lexical.bm25_from_ids = orig


@contextlib.contextmanager
def count_embedded(counter: list[int]):
    from qa.embed import Embedder

    orig = Embedder.encode_passages

    def wrapped(self, texts, *a, **kw):
        counter[0] += len(texts)
        return orig(self, texts, *a, **kw)

    Embedder.encode_passages = wrapped
    try:
        yield
    finally:
        Embedder.encode_passages = orig


def corpus_texts(root: Path) -> list[str]:
    from qa.embed import passage_text
    from qa.ingest import split_passages
    from qa.readers import read_paths

    report = read_paths([root])
    return [passage_text(p) for doc in report.documents for p in split_passages(doc)]


# -- 1. indexing, re-indexing ------------------------------------------------------------------------
def bench_indexing(name: str, root: Path, work: Path, model, cache_dir: Path | None) -> dict:
    import shutil
    import statistics

    from qa.api import Index
    from qa.embed import BATCH_SIZE, _loaded
    from qa.model import model_prefixes

    texts = corpus_texts(root)
    chars = sum(len(t) for t in texts)
    prefix = model_prefixes(None)[1]
    folder = work / f"index-{name}"
    # A small corpus encodes in seconds, where one noisy second moves the ratio by 0.05: take the median
    # of several raw/build pairs. A large one takes minutes a round and averages its own noise.
    rounds = 3 if len(texts) < 1000 else 1
    raws, firsts, ratios, ratios_load = [], [], [], []
    for r in range(rounds):
        log(f"[{name}] {len(texts)} passages, {chars} chars: raw encode (round {r + 1}/{rounds})")
        t0 = now()
        model.encode([prefix + t for t in texts], batch_size=BATCH_SIZE, normalize_embeddings=True,
                     convert_to_numpy=True, show_progress_bar=False)
        raws.append(now() - t0)
        log(f"[{name}] Index.build (first, round {r + 1}/{rounds})")
        shutil.rmtree(folder, ignore_errors=True)
        _loaded.cache_clear()  # each round's build loads its model, as a first `qa index` does
        counter = [0]
        with PhaseTimer(build_phases()) as pt1, time_lexical(pt1.times), count_embedded(counter):
            t0 = now()
            Index.build([root], folder, cache_dir=cache_dir)
            firsts.append(now() - t0)
        ratios.append(raws[-1] / firsts[-1])
        # The build loads its own model; charging the raw encode the same load compares like with like.
        ratios_load.append((raws[-1] + pt1.times.get("model load", 0.0)) / firsts[-1])
    raw, first = statistics.median(raws), statistics.median(firsts)
    embedded_first = counter[0]
    log(f"[{name}] Index.build (unchanged, second)")
    counter = [0]
    with PhaseTimer(build_phases()) as pt2, time_lexical(pt2.times), count_embedded(counter):
        t0 = now()
        built = Index.build([root], folder, cache_dir=cache_dir)
        second = now() - t0
    return {
        "corpus": str(root),
        "passages": len(texts),
        "chars": chars,
        "raw_encode_s": raw,
        "raw_passages_per_s": len(texts) / raw,
        "raw_chars_per_s": chars / raw,
        "build_s": first,
        "build_passages_per_s": len(texts) / first,
        "build_chars_per_s": chars / first,
        "rounds": rounds,
        "build_over_raw": statistics.median(ratios),
        "build_over_raw_with_load": statistics.median(ratios_load),
        "build_over_raw_each": ratios,
        "build_over_raw_with_load_each": ratios_load,
        "build_phases_s": pt1.times,
        "build_embedded": embedded_first,
        "rebuild_s": second,
        "rebuild_speedup": first / second,
        "rebuild_phases_s": pt2.times,
        "rebuild_embedded": counter[0],
        "index_type": built.manifest.get("index_type"),
        "index_dir": str(folder),
    }


# -- 2. questions ------------------------------------------------------------------------------------
def load_questions(path: Path, n: int, skip: int = 0) -> list[str]:
    out = []
    with path.open(encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i < skip:
                continue
            if line.strip():
                out.append(json.loads(line)["question"])
            if len(out) == n:
                break
    return out


def bench_questions(folder: Path, questions_file: Path, cache_dir: Path | None) -> dict:
    from qa.api import Index

    idx = Index.open(folder, cache_dir=cache_dir)
    qs = load_questions(questions_file, 100)
    many = load_questions(questions_file, 500, skip=100)
    for q in qs[:3]:  # warm up: model and reader load, jieba, first FAISS search
        idx.ask(q)
    # Without and with the reader (and with the reader made to read every chosen passage, as it did before
    # it stopped at the first trusted one), question by question, so all see the same machine state.
    cascade = idx.reading
    every = replace(cascade, stop_when_trusted=False)
    lat, lat_reader, lat_every = [], [], []
    for q in qs:
        t0 = now()
        idx.ask(q, reader=False)
        t1 = now()
        idx.ask(q)
        t2 = now()
        idx.reading = every
        idx.ask(q)
        idx.reading = cascade
        lat.append(t1 - t0)
        lat_reader.append(t2 - t1)
        lat_every.append(now() - t2)
    # Where a question's time goes (same questions, same process).
    enc, search, compose = [], [], []
    for q in qs:
        t0 = now()
        v = idx.embed_questions([q])[0]
        t1 = now()
        cands = idx.retriever.search(q, v, 15, "hybrid")
        t2 = now()
        idx.answerer.compose(q, v, cands, 5)
        t3 = now()
        enc.append(t1 - t0), search.append(t2 - t1), compose.append(t3 - t2)
    t0 = now()
    idx.ask_many(many, reader=False)
    batch = now() - t0
    t0 = now()
    idx.ask_many(many)
    batch_reader = now() - t0
    idx.reading = every
    t0 = now()
    idx.ask_many(many)
    batch_every = now() - t0
    idx.reading = cascade
    # English questions over this Chinese corpus take the dictionary path and embed a few sentences.
    dev = SHARED.parent / "seeds-qa" / "dev.jsonl"
    english = [json.loads(line)["question"] for line in dev.read_text(encoding="utf-8").splitlines()
               if line.strip() and json.loads(line)["lang"] == "en"] if dev.is_file() else []
    en_lat = []
    for q in english:
        t0 = now()
        idx.ask(q, reader=False)
        en_lat.append(now() - t0)
    return {
        "reader_ask_p50_ms": pct(lat_reader, 50) * 1e3,
        "reader_ask_p95_ms": pct(lat_reader, 95) * 1e3,
        "reader_batch_q_per_s": len(many) / batch_reader,
        "reader_every_ask_p50_ms": pct(lat_every, 50) * 1e3,
        "reader_every_batch_q_per_s": len(many) / batch_every,
        "english_questions": len(english),
        "english_ask_p50_ms": pct(en_lat, 50) * 1e3,
        "questions": len(qs),
        "ask_p50_ms": pct(lat, 50) * 1e3,
        "ask_p95_ms": pct(lat, 95) * 1e3,
        "ask_mean_ms": statistics.fmean(lat) * 1e3,
        "encode_query_p50_ms": pct(enc, 50) * 1e3,
        "search_p50_ms": pct(search, 50) * 1e3,
        "compose_p50_ms": pct(compose, 50) * 1e3,
        "compose_p95_ms": pct(compose, 95) * 1e3,
        "batch_questions": len(many),
        "batch_s": batch,
        "batch_q_per_s": len(many) / batch,
    }


def bench_processes(folder: Path, question: str, runs: int) -> dict:
    env = dict(os.environ)
    env.setdefault("QA_CACHE_DIR", str(Path("/work/cache")))
    py = sys.executable
    helps, asks = [], []
    for _ in range(runs):
        helps.append(run_child([py, "-m", "qa.cli", "--help"], env))
    for _ in range(runs):
        asks.append(run_child([py, "-m", "qa.cli", "ask", question, "--index", str(folder), "--json"], env))
    probe = run_child([py, "-c", ("import sys, qa.cli\n"
                       "try:\n    qa.cli.app(['--help'])\nexcept SystemExit:\n    pass\n"
                       "print(int('torch' in sys.modules), int('faiss' in sys.modules), int('numpy' in sys.modules), "
                       "len(sys.modules))")], env)
    flags = probe[3].strip().splitlines()[-1].split() if probe[3].strip() else ["?"] * 4
    return {
        "help_s": statistics.median(h[0] for h in helps),
        "help_s_all": [h[0] for h in helps],
        "help_maxrss_mb": statistics.median(h[1] for h in helps),
        "help_imports_torch": flags[0] == "1",
        "help_imports_faiss": flags[1] == "1",
        "help_imports_numpy": flags[2] == "1",
        "help_modules": int(flags[3]) if flags[3].isdigit() else None,
        "ask_cold_s": statistics.median(a[0] for a in asks),
        "ask_cold_s_all": [a[0] for a in asks],
        "ask_cold_maxrss_mb": statistics.median(a[1] for a in asks),
        "ask_cold_ok": all(a[2] == 0 for a in asks),
    }


def bench_server(folder: Path, question: str, runs: int) -> dict:
    """`qa ask --server` (a warm `qa serve` on ``folder``) beside a cold `qa ask --index`, same question."""
    sys.path.insert(0, str(ROOT / "bench"))
    from load import Served

    env = dict(os.environ)
    env.setdefault("QA_CACHE_DIR", str(Path("/work/cache")))
    env.pop("QA_SERVER", None)
    py = sys.executable
    server = Served(folder)
    try:
        remote_cmd = [py, "-m", "qa.cli", "ask", question, "--server", server.url, "--json"]
        run_child(remote_cmd, env)  # the server's first question loads jieba's dictionary
        remote, cold = [], []
        for _ in range(runs):  # alternated, so both see the same machine load
            remote.append(run_child(remote_cmd, env))
            cold.append(run_child([py, "-m", "qa.cli", "ask", question, "--index", str(folder), "--json"], env))
    finally:
        server.stop()
    same = all(r[3] == c[3] for r, c in zip(remote, cold))
    return {
        "server_ask_s": statistics.median(r[0] for r in remote),
        "server_ask_s_all": [r[0] for r in remote],
        "server_ask_maxrss_mb": statistics.median(r[1] for r in remote),
        "cold_ask_s": statistics.median(c[0] for c in cold),
        "cold_ask_s_all": [c[0] for c in cold],
        "cold_ask_maxrss_mb": statistics.median(c[1] for c in cold),
        "same_output": same,
        "ok": all(r[2] == 0 for r in remote) and all(c[2] == 0 for c in cold),
        "load": os.getloadavg()[0],
    }


# -- 3. FAISS on synthetic vectors -------------------------------------------------------------------
def synthetic(n: int, n_queries: int = 100, dim: int = DIM, seed: int = 0,
              sub: int = 32, spread: float = 0.6, noise: float = 0.25,
              out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors from a Gaussian mixture shaped like text embeddings: n/500 clusters of log-normal
    sizes, each spread mostly within its own ``sub``-dim subspace plus isotropic noise (neighbours in a
    cluster have cosine ~0.8, other clusters ~0). Queries are held-out draws from the same mixture.

    ``out`` (n rows, e.g. a memory-mapped .npy) receives the vectors in place: at ten million they are
    15 GB, and no temporary of that size is made."""
    rng = np.random.default_rng(seed)
    k = max(16, n // 500)
    centers = rng.standard_normal((k, dim), dtype=np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    w = rng.lognormal(0.0, 1.0, k)
    labels = rng.choice(k, n + n_queries, p=w / w.sum())
    xb = np.empty((n, dim), dtype=np.float32) if out is None else out
    xq = np.empty((n_queries, dim), dtype=np.float32)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(k + 1))
    for c in range(k):
        idx = order[bounds[c]:bounds[c + 1]]
        if not len(idx):
            continue
        basis = rng.standard_normal((sub, dim), dtype=np.float32)
        basis /= np.linalg.norm(basis, axis=1, keepdims=True)
        z = rng.standard_normal((len(idx), sub), dtype=np.float32) * np.float32(spread / np.sqrt(sub))
        e = rng.standard_normal((len(idx), dim), dtype=np.float32) * np.float32(noise / np.sqrt(dim))
        block = centers[c] + z @ basis + e
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        base = idx < n
        xb[idx[base]] = block[base]
        xq[idx[~base] - n] = block[~base]
    return xb, xq


def _recall(found: np.ndarray, truth: np.ndarray, k: int = 10) -> float:
    return float(np.mean([len(set(f[:k].tolist()) & set(t[:k].tolist())) / k for f, t in zip(found, truth)]))


def _latencies(index, xq: np.ndarray, k: int) -> list[float]:
    out = []
    for q in xq:
        q = q[None]
        t0 = now()
        index.search(q, k)
        out.append(now() - t0)
    return out


def _index_bytes(index) -> int:
    import faiss

    with tempfile.NamedTemporaryFile(suffix=".faiss") as f:
        faiss.write_index(index, f.name)
        return os.path.getsize(f.name)


def bench_faiss(n: int, ef_sweep: list[int], ivf: bool) -> dict:
    import faiss

    from qa.index import choose_index_type, make_dense

    log(f"[faiss {n}] generating {n} vectors")
    t0 = now()
    xb, xq = synthetic(n)
    gen_s = now() - t0
    # Exact neighbours, by batched exact search (the flat index of the project).
    rows: list[dict] = []
    res: dict = {"n": n, "dim": DIM, "queries": len(xq), "generate_s": gen_s,
                 "auto_index_type": choose_index_type(n), "omp_max_threads": faiss.omp_get_max_threads(), "rows": rows}
    threads = faiss.omp_get_max_threads()

    def measure(label: str, index, build_s: float, mem_mb: float, params: dict, truth=None):
        faiss.omp_set_num_threads(threads)
        _, found = index.search(xq, 10)
        rec = _recall(found, truth) if truth is not None else 1.0
        row = {"index": label, **params, "build_s": build_s, "rss_growth_mb": mem_mb,
               "bytes": _index_bytes(index), "recall@10": rec}
        for th in sorted({1, threads}):
            faiss.omp_set_num_threads(th)
            row[f"p50_k10_ms_t{th}"] = pct(_latencies(index, xq, 10), 50) * 1e3
            row[f"p50_k100_ms_t{th}"] = pct(_latencies(index, xq, 100), 50) * 1e3
        faiss.omp_set_num_threads(threads)
        rows.append(row)
        log(f"[faiss {n}] {label} {params} recall@10 {rec:.4f} p50(1 thread, k=10) {row['p50_k10_ms_t1']:.2f} ms")
        return row

    m0 = rss_mb()
    t0 = now()
    flat = make_dense(xb, "flat")
    flat_s = now() - t0
    flat_mem = rss_mb() - m0
    _, truth = flat.search(xq, 10)
    measure("flat", flat, flat_s, flat_mem, {}, None)
    del flat
    # Exact search cost by corpus size (one thread, k=100 as the retriever asks): where EXACT_LIMIT goes.
    res["flat_p50_ms_by_n"] = {}
    faiss.omp_set_num_threads(1)
    for m in (10_000, 25_000, 50_000):
        if m < n:
            part = make_dense(np.ascontiguousarray(xb[:m]), "flat")
            res["flat_p50_ms_by_n"][m] = pct(_latencies(part, xq, 100), 50) * 1e3
            del part
    faiss.omp_set_num_threads(threads)

    m0 = rss_mb()
    t0 = now()
    hnsw = make_dense(xb, "hnsw")
    hnsw_s = now() - t0
    hnsw_mem = rss_mb() - m0
    default_ef = int(hnsw.hnsw.efSearch)
    m_links = int(hnsw.hnsw.nb_neighbors(1))
    params = {"M": m_links, "efConstruction": int(hnsw.hnsw.efConstruction)}
    res["hnsw_default"] = measure("hnsw", hnsw, hnsw_s, hnsw_mem, {**params, "efSearch": default_ef}, truth)
    for ef in ef_sweep:
        if ef == default_ef:
            continue
        hnsw.hnsw.efSearch = ef
        r = measure("hnsw", hnsw, hnsw_s, hnsw_mem, {**params, "efSearch": ef}, truth)
        r["sweep"] = True
    hnsw.hnsw.efSearch = default_ef
    del hnsw

    if ivf:
        nlist = int(4 * np.sqrt(n))
        m0 = rss_mb()
        t0 = now()
        quant = faiss.IndexFlatIP(DIM)
        index = faiss.IndexIVFFlat(quant, DIM, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(xb[np.random.default_rng(1).choice(n, min(n, 64 * nlist), replace=False)])
        index.add(xb)
        ivf_s = now() - t0
        ivf_mem = rss_mb() - m0
        for nprobe in (16, 32, 64):
            index.nprobe = nprobe
            measure("ivf", index, ivf_s, ivf_mem, {"nlist": nlist, "nprobe": nprobe}, truth)
        del index
    return res


# -- 4. precision -----------------------------------------------------------------------------------
def bench_precision(texts: list[str], work: Path, cache_dir: Path | None) -> dict:
    from qa.embed import BATCH_SIZE
    from qa.model import load_model, model_prefixes

    prefix = model_prefixes(None)[1]
    batch = [prefix + t for t in texts]
    out: dict = {"passages": len(texts)}
    vecs = {}
    models = {p: load_model(None, cache_dir=cache_dir, precision=p) for p in ("float32", "bfloat16")}
    for rep in range(2):  # alternate, so load on the machine hits both alike
        for p, m in models.items():
            t0 = now()
            v = m.encode(batch, batch_size=BATCH_SIZE, normalize_embeddings=True, convert_to_numpy=True)
            out.setdefault(f"{p}_s", []).append(now() - t0)
            vecs[p] = np.asarray(v, dtype=np.float32)
    for p in models:
        out[f"{p}_passages_per_s"] = len(texts) / min(out[f"{p}_s"])
    cos = np.sum(vecs["float32"] * vecs["bfloat16"], axis=1)
    out["cosine_f32_bf16_min"] = float(cos.min())
    out["cosine_f32_bf16_mean"] = float(cos.mean())
    del models
    for p in ("float32", "bfloat16"):
        out[f"{p}_eval"] = eval_with_precision(p, work, cache_dir)
    return out


def eval_with_precision(precision: str, work: Path, cache_dir: Path | None) -> dict:
    """Build the seeds index with the model at ``precision`` and score the seeds dev set on it
    (what `qa eval tests/data/seeds-dev.jsonl --index DIR` prints, for the dense and hybrid modes)."""
    from qa import api
    from qa.evaluate import evaluate

    idx = api.Index.build([ROOT / "seeds"], work / f"index-seeds-{precision}", cache_dir=cache_dir,
                          precision=precision)
    rep = evaluate(idx, ROOT / "tests" / "data" / "seeds-dev.jsonl", modes=["dense", "hybrid"])
    return {mode: rep["modes"][mode]["all"] for mode in ("dense", "hybrid")}


# -- report ------------------------------------------------------------------------------------------
def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def report(res: dict) -> str:
    out = [f"machine: {res['machine']}"]
    if "indexing" in res:
        rows = [["corpus", "passages", "chars", "raw encode p/s", "build p/s", "build chars/s", "build/raw",
                 "build/(load+raw)", "rounds", "build s", "rebuild s", "rebuild speed-up", "re-embedded"]]
        for name, r in res["indexing"].items():
            rows.append([name, str(r["passages"]), str(r["chars"]), f"{r['raw_passages_per_s']:.1f}",
                         f"{r['build_passages_per_s']:.1f}", f"{r['build_chars_per_s']:.0f}",
                         f"{r['build_over_raw']:.2f}x", f"{r['build_over_raw_with_load']:.2f}x", str(r["rounds"]),
                         f"{r['build_s']:.1f}", f"{r['rebuild_s']:.2f}",
                         f"{r['rebuild_speedup']:.1f}x", str(r["rebuild_embedded"])])
        out += ["", "Indexing (Index.build vs SentenceTransformer.encode of the same texts)", table(rows)]
        for name, r in res["indexing"].items():
            if r["rounds"] > 1:
                each = ", ".join(f"{a:.2f}x/{b:.2f}x" for a, b in zip(r["build_over_raw_each"],
                                                                     r["build_over_raw_with_load_each"]))
                out.append(f"  {name} build/raw and build/(load+raw) by round (medians above): {each}")
            for key in ("build_phases_s", "rebuild_phases_s"):
                phases = ", ".join(f"{k} {v:.2f}s" for k, v in sorted(r[key].items(), key=lambda kv: -kv[1]))
                out.append(f"  {name} {key[:-9]}: {phases}")
    if "questions" in res:
        q, p = res["questions"], res.get("processes", {})
        rows = [["measure", "value"],
                ["warm ask with the reader p50 / p95", f"{q['reader_ask_p50_ms']:.1f} / {q['reader_ask_p95_ms']:.1f} ms"],
                [f"ask_many with the reader ({q['batch_questions']} questions)", f"{q['reader_batch_q_per_s']:.1f} q/s"],
                ["the same, reading every chosen passage: ask p50 / ask_many",
                 f"{q['reader_every_ask_p50_ms']:.1f} ms / {q['reader_every_batch_q_per_s']:.1f} q/s"],
                ["warm ask --no-reader p50 / p95", f"{q['ask_p50_ms']:.1f} / {q['ask_p95_ms']:.1f} ms"],
                ["  of which: encode query p50", f"{q['encode_query_p50_ms']:.1f} ms"],
                ["  retrieve (hybrid) p50", f"{q['search_p50_ms']:.1f} ms"],
                ["  compose answer p50 / p95", f"{q['compose_p50_ms']:.1f} / {q['compose_p95_ms']:.1f} ms"],
                [f"ask_many --no-reader ({q['batch_questions']} questions)", f"{q['batch_q_per_s']:.1f} q/s"],
                [f"English ask --no-reader p50 ({q['english_questions']} seeds-qa questions)", f"{q['english_ask_p50_ms']:.1f} ms"]]
        if p:
            rows += [["cold `qa ask` (new process)", f"{p['ask_cold_s']:.2f} s (peak RSS {p['ask_cold_maxrss_mb']:.0f} MB)"],
                     ["`qa --help`", (f"{p['help_s']:.2f} s (torch imported: {p['help_imports_torch']}, "
                                     f"{p['help_modules']} modules)")]]
        rows.append(["peak RSS of this process after QA part", f"{res['maxrss_after_qa_mb']:.0f} MB"])
        out += ["", "Questions on the cmrc index", table(rows)]
    if "server" in res:
        sv = res["server"]
        out += ["", "`qa ask --server` on the seeds index, beside a cold `qa ask` (median of "
                f"{len(sv['server_ask_s_all'])}, alternated; load average {sv['load']:.2f})",
                table([["measure", "wall", "peak RSS"],
                       ["`qa ask --server URL`", f"{sv['server_ask_s']:.2f} s", f"{sv['server_ask_maxrss_mb']:.0f} MB"],
                       ["cold `qa ask --index`", f"{sv['cold_ask_s']:.2f} s", f"{sv['cold_ask_maxrss_mb']:.0f} MB"],
                       ["same output", str(sv["same_output"]), ""]])]
    if "precision" in res:
        pr = res["precision"]
        out += ["", (f"Precision ({pr['passages']} seed passages): float32 {pr['float32_passages_per_s']:.1f} p/s, "
                    f"bfloat16 {pr['bfloat16_passages_per_s']:.1f} p/s; cosine f32 vs bf16 "
                    f"mean {pr['cosine_f32_bf16_mean']:.4f}, min {pr['cosine_f32_bf16_min']:.4f}")]
        metrics = ["hit@1", "hit@5", "sentence_hit@1", "abstained_wrongly", "abstained_rightly"]
        rows = [["precision", "mode", *metrics]]
        for p in ("float32", "bfloat16"):
            for mode, m in pr[f"{p}_eval"].items():
                rows.append([p, mode, *[str(m.get(k)) for k in metrics]])
        out += ["seeds dev set (tests/data/seeds-dev.jsonl) on a seeds index built at each precision", table(rows)]
    for f in res.get("faiss", []):
        ths = sorted({1, f["omp_max_threads"]})
        head = ["index", "params", "recall@10", "build s", "RSS MB", "file MB"]
        for th in ths:
            head += [f"p50 k10 {th}t ms", f"p50 k100 {th}t ms"]
        rows = [head]
        for r in f["rows"]:
            params = " ".join(f"{k}={r[k]}" for k in ("M", "efConstruction", "efSearch", "nlist", "nprobe") if k in r)
            row = [r["index"] + (" (sweep)" if r.get("sweep") else ""), params or "-", f"{r['recall@10']:.4f}",
                   f"{r['build_s']:.1f}", f"{r['rss_growth_mb']:.0f}", f"{r['bytes'] / 2**20:.0f}"]
            for th in ths:
                row += [f"{r[f'p50_k10_ms_t{th}']:.3f}", f"{r[f'p50_k100_ms_t{th}']:.3f}"]
            rows.append(row)
        out += ["", (f"FAISS, {f['n']:,} synthetic {f['dim']}-dim unit vectors (Gaussian mixture), "
                    f"{f['queries']} held-out queries; auto picks {f['auto_index_type']}"), table(rows)]
        if f.get("flat_p50_ms_by_n"):
            out.append("  flat p50 (1 thread, k=100) by size: " + ", ".join(
                f"{int(m):,}: {v:.2f} ms" for m, v in f["flat_p50_ms_by_n"].items()))
    out.append(f"\npeak RSS of this process: {res['maxrss_mb']:.0f} MB; total {res['total_s']:.0f} s")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the 1M-vector FAISS case")
    ap.add_argument("--json", type=Path, help="also write the figures here as JSON")
    ap.add_argument("--work", type=Path, help="keep the benchmark indexes here [default: a temporary folder]")
    ap.add_argument("--only", default="index,ask,process,server,precision,faiss",
                    help="comma-separated parts to run: index, ask, process, server, precision, faiss")
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

    res: dict = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
                            f"torch threads {torch.get_num_threads()}, python {platform.python_version()}",
                 "quick": args.quick}
    t_start = now()
    with contextlib.ExitStack() as stack:
        work = args.work or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="qa-speed-")))
        work.mkdir(parents=True, exist_ok=True)
        cmrc_corpus, cmrc_questions = args.cmrc / "corpus.jsonl", args.cmrc / "questions.jsonl"
        cmrc_index = work / "index-cmrc"
        if "index" in parts:
            from qa.model import load_model

            t0 = now()
            model = load_model(None, cache_dir=cache_dir)
            res["model_load_s"] = now() - t0
            res["indexing"] = {}
            for name, root in (("seeds", ROOT / "seeds"), ("cmrc", cmrc_corpus)):
                res["indexing"][name] = bench_indexing(name, root, work, model, cache_dir)
            del model
        if ("ask" in parts or "process" in parts) and not (cmrc_index / "CURRENT").is_file():
            from qa.api import Index

            log("[ask] building the cmrc index")
            Index.build([cmrc_corpus], cmrc_index, cache_dir=cache_dir)
        if "ask" in parts:
            log("[ask] warm questions")
            res["questions"] = bench_questions(cmrc_index, cmrc_questions, cache_dir)
        if "process" in parts:
            log("[process] cold ask and --help")
            res["processes"] = bench_processes(cmrc_index, load_questions(cmrc_questions, 1)[0], 3)
        if "server" in parts:
            seeds_index = work / "index-seeds"
            if not (seeds_index / "CURRENT").is_file():
                from qa.api import Index

                log("[server] building the seeds index")
                Index.build([ROOT / "seeds"], seeds_index, cache_dir=cache_dir)
            log("[server] qa ask --server beside a cold qa ask")
            res["server"] = bench_server(seeds_index, "株洲市中心医院的党委书记是谁？", 5)
        res["maxrss_after_qa_mb"] = maxrss_mb()
        if "precision" in parts:
            log("[precision] float32 vs bfloat16")
            res["precision"] = bench_precision(corpus_texts(ROOT / "seeds"), work, cache_dir)
        if "faiss" in parts:
            sweep = [64, 128, 256]
            res["faiss"] = [bench_faiss(100_000, sweep, ivf=True)]
            if not args.quick:
                res["faiss"].append(bench_faiss(1_000_000, sweep, ivf=True))
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
