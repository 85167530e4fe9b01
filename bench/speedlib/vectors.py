"""The FAISS part of bench/speed.py: flat, HNSW and IVF indexes on synthetic vectors, and those vectors."""

from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np

from speedlib.common import DIM, log, now, pct, rss_mb


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


def _latencies(index: Any, xq: np.ndarray, k: int) -> list[float]:
    out = []
    for q in xq:
        q = q[None]
        t0 = now()
        index.search(q, k)
        out.append(now() - t0)
    return out


def _index_bytes(index: Any) -> int:
    import faiss

    with tempfile.NamedTemporaryFile(suffix=".faiss") as f:
        faiss.write_index(index, f.name)
        return os.path.getsize(f.name)


def bench_faiss(n: int, ef_sweep: list[int], ivf: bool) -> dict[str, Any]:
    import faiss

    from qa.index.store import choose_index_type, make_dense

    log(f"[faiss {n}] generating {n} vectors")
    t0 = now()
    xb, xq = synthetic(n)
    gen_s = now() - t0
    # Exact neighbours, by batched exact search (the flat index of the project).
    rows: list[dict[str, Any]] = []
    res: dict[str, Any] = {"n": n, "dim": DIM, "queries": len(xq), "generate_s": gen_s,
                 "auto_index_type": choose_index_type(n), "omp_max_threads": faiss.omp_get_max_threads(), "rows": rows}
    threads = faiss.omp_get_max_threads()

    def measure(label: str, index: Any, build_s: float, mem_mb: float, params: dict[str, Any],
                truth: np.ndarray | None = None) -> dict[str, Any]:
        faiss.omp_set_num_threads(threads)
        _, found = index.search(xq, 10)
        rec = _recall(found, truth) if truth is not None else 1.0
        row: dict[str, Any] = {"index": label, **params, "build_s": build_s, "rss_growth_mb": mem_mb,
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

