"""BM25 matrix build: bm25s's own against qa's slice-at-a-time build, side by side, each in a new process.

    python bench/bm25_build.py N [N ...]      # N passages of synthetic word ids

Passages of 40-100 words drawn from a Zipf-like law over a vocabulary that grows with the corpus (as
cmrc2018 text does: ~0.68 KB of matrix a passage, BENCHMARKS.md), held as the build holds them (one
flat int32 array). Prints, for each builder, the wall and CPU seconds of the matrix build, the growth of
the process's RSS during it (sampled every 10 ms, from just before the build), the matrix's own size, and a checksum showing both built the same.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from array import array
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def synthetic_ids(n: int, seed: int = 0):
    """A build's word ids (qa.index.build.TokenIds, in memory) for n synthetic passages."""
    from qa.index.build import TokenIds

    rng = np.random.default_rng(seed)
    lengths = rng.integers(40, 101, n)
    vocab = 50_000 + 2 * n  # word types grow with the corpus
    words = (rng.zipf(1.15, int(lengths.sum())) - 1) % vocab
    ids = TokenIds()
    ids._buf = array("i", words.astype(np.int32).tobytes())  # what add() would have gathered
    ids.ends = array("q", np.cumsum(lengths).astype(np.int64).tobytes())
    ids.vocab = {str(i): i for i in range(vocab)}
    return ids


def run_one(n: int, builder: str) -> dict:
    import bm25s

    from qa.index.bm25 import sliced_bm25

    ids = synthetic_ids(n)
    base = rss_mb()
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            peak[0] = max(peak[0], rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    model = bm25s.BM25(k1=1.2, b=0.75) if builder == "bm25s" else sliced_bm25(k1=1.2, b=0.75)
    t0, c0 = time.perf_counter(), time.process_time()
    model.index(bm25s.tokenization.Tokenized(ids=ids, vocab=ids.vocab), show_progress=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    done.set()
    sampler.join()
    s = model.scores
    digest = hashlib.sha256()
    for k in ("data", "indices", "indptr"):
        digest.update(np.ascontiguousarray(s[k]).tobytes())
    return {"n": n, "builder": builder, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "peak_growth_mb": round(max(peak[0], rss_mb()) - base, 1),
            "matrix_mb": round(sum(s[k].nbytes for k in ("data", "indices", "indptr")) / 2**20, 1),
            "sha256": digest.hexdigest()[:16]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sizes", nargs="+", type=int)
    ap.add_argument("--one", nargs=2, metavar=("N", "BUILDER"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(run_one(int(a.one[0]), a.one[1])))
        return
    print(f"load average {os.getloadavg()[0]:.1f}", file=sys.stderr)
    for n in a.sizes:
        for builder in ("bm25s", "sliced"):
            out = subprocess.run([sys.executable, __file__, "0", "--one", str(n), builder], check=True,
                                 capture_output=True, text=True).stdout
            print(out.strip(), flush=True)
    print(f"load average {os.getloadavg()[0]:.1f}", file=sys.stderr)


if __name__ == "__main__":
    main()
