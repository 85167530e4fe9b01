"""Scale benchmark: the IVF-PQ index on synthetic vectors, and a whole build of a synthetic corpus.

    python bench/scale.py vectors N [N ...]     # IVF-PQ against exact search on N synthetic vectors
    python bench/scale.py corpus N [N ...]      # index N synthetic passages, stage by stage, then ask
    python bench/scale.py ... --json PATH

``vectors``: the 384-dim Gaussian-mixture vectors of ``bench/speed.py --only faiss``, written to a
``.npy`` and memory-mapped as an index does; recall@10 of the re-ranked IVF-PQ search against exact
search, p50/p95 latency of one question, index memory (its serialized size) and build time.

``corpus``: N passages made by recombining cmrc2018-train sentences (3-6 a passage, a random title),
as .jsonl files of 10,000 records. THE MODEL IS REPLACED by a stand-in (hashed character bigrams
projected to 384 dims, ~20 us a passage), so that the figures are those of everything but the model:
reading, splitting, BM25 words, writing, BM25, FAISS, and questions (dense only and hybrid with BM25).
Multiply the model's own rate (BENCHMARKS.md) in for a real build. Each stage is reported in seconds
of wall clock and of CPU (every thread of the process): on a shared machine the wall clock is an
upper bound, the CPU seconds are what the stage costs. Progress goes to stderr as the build runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CMRC = ROOT.parent / "shared" / "bench" / "cmrc2018-train"
if not CMRC.is_dir():
    CMRC = Path("/work/shared/bench/cmrc2018-train")
DIM = 384


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    """The kernel's high-water mark of this process's RSS: exact, where sampling can miss a spike."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q)) if xs else float("nan")


class PeakRSS:
    """Samples this process's RSS every 20 ms; ``stage(name)`` starts a new stage's peak."""

    def __init__(self) -> None:
        self.peaks: dict[str, float] = {}
        self.current = "start"
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            r = rss_mb()
            self.peaks[self.current] = max(self.peaks.get(self.current, 0.0), r)

    def stage(self, name: str) -> None:
        self.current = name
        self.peaks[name] = max(self.peaks.get(name, 0.0), rss_mb())

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


# -- vectors -------------------------------------------------------------------------------------------
def exact_top(xb: np.ndarray, xq: np.ndarray, k: int, chunk: int = 1 << 20) -> np.ndarray:
    """Exact inner-product top k, a million rows at a time: a FAISS flat index would copy all the vectors
    (15 GB at ten million), which with the array itself is more than the machine has."""
    best_s = np.full((len(xq), 0), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(xq), 0), dtype=np.int64)
    for start in range(0, len(xb), chunk):
        scores = xq @ xb[start:start + chunk].T
        top = np.argpartition(-scores, min(k, scores.shape[1] - 1), axis=1)[:, :k]
        best_s = np.concatenate([best_s, np.take_along_axis(scores, top, 1)], axis=1)
        best_i = np.concatenate([best_i, top + start], axis=1)
        keep = np.argsort(-best_s, axis=1, kind="stable")[:, :k]
        best_s, best_i = np.take_along_axis(best_s, keep, 1), np.take_along_axis(best_i, keep, 1)
    return best_i


def bench_vectors(n: int, work: Path) -> dict:
    import faiss
    from speed import synthetic

    from qa.index import ivfpq

    log(f"[vectors {n}] generating")
    path = work / f"vectors-{n}.npy"
    xb = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, DIM))
    xb, xq = synthetic(n, out=xb)
    xb.flush()
    log(f"[vectors {n}] exact search")
    truth = exact_top(xb, xq, 10)
    del xb
    vectors = np.load(path, mmap_mode="r")
    s = ivfpq.settings_for(n, DIM)
    log(f"[vectors {n}] training and adding IVF-PQ {s}")
    m0, t0 = rss_mb(), time.perf_counter()
    index = ivfpq.build(vectors, s)
    build_s = time.perf_counter() - t0
    with tempfile.NamedTemporaryFile(suffix=".faiss") as f:
        faiss.write_index(index, f.name)
        nbytes = os.path.getsize(f.name)
    rows = []
    for nprobe in (16, 32, 48, 64):
        for shortlist in (100, 200, 400):
            r = ivfpq.Reranked(index, vectors, ivfpq.IVFPQSettings(s.nlist, s.m, s.nbits, nprobe, shortlist))
            _, found = r.search(xq, 10)
            rec = float(np.mean([len(set(a.tolist()) & set(b.tolist())) / 10 for a, b in zip(found, truth)]))
            lat = []
            for q in xq:
                t = time.perf_counter()
                r.search(q[None], 100)  # the retriever asks for 100
                lat.append(time.perf_counter() - t)
            rows.append({"nprobe": nprobe, "shortlist": shortlist, "recall@10": rec,
                         "p50_ms": pct(lat, 50) * 1e3, "p95_ms": pct(lat, 95) * 1e3})
            log(f"[vectors {n}] nprobe {nprobe} shortlist {shortlist}: recall@10 {rec:.4f} "
                f"p50 {rows[-1]['p50_ms']:.2f} ms")
    return {"n": n, "settings": s.to_dict(), "build_s": build_s, "index_bytes": nbytes,
            "rss_growth_mb": rss_mb() - m0, "threads": faiss.omp_get_max_threads(), "rows": rows}


# -- corpus --------------------------------------------------------------------------------------------
def make_corpus(n: int, folder: Path, seed: int = 0) -> None:
    """N passages of 3-6 cmrc2018-train sentences each, in .jsonl files of 10,000 records."""
    sentences, titles = [], []
    with (CMRC / "corpus.jsonl").open(encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            titles.append(rec.get("title") or "")
            sentences.extend(s for s in re.findall(r"[^。！？]+[。！？]", rec["text"]) if len(s) > 4)
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for shard in range(0, n, 10_000):
        with (folder / f"part-{shard // 10_000:05d}.jsonl").open("w", encoding="utf-8") as f:
            for i in range(shard, min(n, shard + 10_000)):
                k = int(rng.integers(3, 7))
                text = "".join(sentences[j] for j in rng.integers(0, len(sentences), k))
                f.write(json.dumps({"id": f"p{i}", "title": titles[int(rng.integers(len(titles)))],
                                    "text": text}, ensure_ascii=False) + "\n")


def stand_in_vectors(texts: list[str]) -> np.ndarray:
    """Hashed character bigrams, signed, in 384 dims, unit length: a stand-in for the model."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for i, t in enumerate(texts):
        c = np.frombuffer(t.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        if len(c) < 2:
            c = np.concatenate([c, [0, 0]])
        h = (c[:-1] * 1_000_003 + c[1:]) * 2_654_435_761
        out[i] = np.bincount(h % DIM, weights=np.where((h >> 20) & 1, 1.0, -1.0), minlength=DIM)
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-6)
    return out


def use_stand_in() -> None:
    from qa.encoder.embedder import Embedder

    Embedder.encode_passages = lambda self, texts, progress=False: stand_in_vectors(texts)
    Embedder.encode_queries = lambda self, qs, progress=False: stand_in_vectors(qs)
    Embedder.dim = property(lambda self: DIM)
    Embedder.max_tokens = property(lambda self: 512)


def bench_corpus(n: int, work: Path, questions: int = 100) -> dict:
    from qa.api import Index
    from qa.index import build as build_mod
    from qa.index import lexical, store

    use_stand_in()
    docs = work / f"corpus-{n}"
    log(f"[corpus {n}] writing {n} synthetic passages")
    t0 = time.perf_counter()
    make_corpus(n, docs)
    gen_s = time.perf_counter() - t0
    folder = work / f"index-{n}"
    shutil.rmtree(folder, ignore_errors=True)  # a fresh build, never a rebuild reusing an older run
    times: dict[str, float] = {}
    cpu: dict[str, float] = {}
    start = time.perf_counter()

    def timed(obj, name, label):
        fn = getattr(obj, name)

        def inner(*a, **kw):
            peak.stage(label)
            if label not in times:
                log(f"[corpus {n}] {time.perf_counter() - start:7.0f} s  {label} ...")
            t, c = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **kw)
            finally:
                times[label] = times.get(label, 0.0) + time.perf_counter() - t
                cpu[label] = cpu.get(label, 0.0) + time.process_time() - c
                peak.stage("other")
        setattr(obj, name, inner)

    written = [0, time.perf_counter(), time.process_time()]
    write = build_mod._write

    def counted(chunk, *a, **kw):
        write(chunk, *a, **kw)
        before = written[0] // 50_000
        written[0] += len(chunk.vectors)
        if written[0] // 50_000 > before:
            log(f"[corpus {n}] {time.perf_counter() - start:7.0f} s  {written[0]} passages written, "
                f"{(time.process_time() - written[2]) / written[0] * 1e3:.2f} ms CPU a passage, "
                f"RSS {rss_mb():.0f} MB, load {os.getloadavg()[0]:.1f}")
    build_mod._write = counted

    with PeakRSS() as peak:
        base = rss_mb()
        timed(build_mod, "stream_build", "read, split, embed, words, write (stream)")
        timed(lexical, "bm25_from_ids", "BM25 build")
        timed(store, "make_dense", "FAISS build")
        timed(store, "sha256_of", "checksums")
        timed(store, "_fsync_tree", "fsync")
        timed(store, "open_index", "open")
        log(f"[corpus {n}] building")
        t0, c0 = time.perf_counter(), time.process_time()
        idx = Index.build([docs], folder)  # opens the index it built: that is the "open" stage
        total, total_cpu = time.perf_counter() - t0, time.process_time() - c0
        open_rss = rss_mb()
    build_mod._write = write
    gen = store.current_generation(folder)
    sizes: dict[str, int] = {}
    for p in gen.rglob("*"):
        if p.is_file():
            part = p.relative_to(gen).parts[0]
            sizes[part] = sizes.get(part, 0) + p.stat().st_size
    bm25_matrix = sum((gen / "lexical" / f).stat().st_size for f in ("data.csc.index.npy", "indices.csc.index.npy",
                                                                    "indptr.csc.index.npy")
                      if (gen / "lexical" / f).is_file())
    qs = []
    with (CMRC / "questions.jsonl").open(encoding="utf-8") as f:
        for line in f:
            qs.append(json.loads(line)["question"])
            if len(qs) >= questions:
                break
    log(f"[corpus {n}] {time.perf_counter() - start:7.0f} s  asking {len(qs)} questions, dense and hybrid")
    lat: dict[str, list[float]] = {}
    for mode in ("dense", "hybrid"):
        idx.ask(qs[0], mode=mode, reader=False)  # the first question pays for lazy loading
        for q in qs:
            t = time.perf_counter()
            idx.ask(q, mode=mode, abstain=False, reader=False)  # retrieval, not the reader
            lat.setdefault(mode, []).append(time.perf_counter() - t)
    res = {
        "n": n, "corpus_write_s": gen_s, "build_s": total, "build_cpu_s": total_cpu,
        "stages_s": times, "stages_cpu_s": cpu,
        "peak_rss_mb": dict(peak.peaks), "peak_rss_kernel_mb": peak_rss_mb(), "rss_at_start_mb": base,
        "open_s": times.get("open", 0.0), "rss_after_open_mb": open_rss, "index_type": idx.manifest["index_type"],
        "disk_bytes": sizes, "disk_bytes_total": sum(sizes.values()), "bm25_matrix_bytes": bm25_matrix,
        "query_ms": {m: {"p50": pct(v, 50) * 1e3, "p95": pct(v, 95) * 1e3} for m, v in lat.items()},
        "faiss_threads": _faiss_threads(), "load_average_end": os.getloadavg(), "stand_in_model": True,
    }
    log(json.dumps(res, indent=1))
    shutil.rmtree(docs, ignore_errors=True)
    return res


def _faiss_threads() -> int:
    import faiss

    return int(faiss.omp_get_max_threads())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=("vectors", "corpus"))
    ap.add_argument("sizes", nargs="+", type=int)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--work", type=Path, help="scratch folder [default: a temporary one]")
    args = ap.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="qa-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    out = {"load_average": os.getloadavg(), "cpus": os.cpu_count(), "results": []}
    try:
        for n in args.sizes:
            out["results"].append(bench_vectors(n, work) if args.what == "vectors" else bench_corpus(n, work))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    out["load_average_end"] = os.getloadavg()
    text = json.dumps(out, indent=1, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
