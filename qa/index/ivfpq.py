"""Dense search for millions of passages: FAISS IVF-PQ codes in memory, a shortlist re-ranked exactly.

A flat or HNSW index keeps every float vector in memory (1.5 KB each at 384 dims: 15 GB for ten
million). IVF-PQ keeps ``m`` bytes a vector instead; its approximate scores pick a shortlist, and the
exact cosines of the shortlist come from the float vectors memory-mapped from ``vectors.npy``, so the
scores the retriever sees are exact and only the order of far-down candidates can differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class IVFPQSettings:
    """How an IVF-PQ index is laid out and searched (written to the manifest)."""

    nlist: int  # coarse clusters
    m: int = 48  # PQ sub-quantizers: bytes a vector
    nbits: int = 8
    nprobe: int = 48  # clusters searched a question
    shortlist: int = 400  # approximate candidates re-ranked exactly

    def to_dict(self) -> dict:
        return {"nlist": self.nlist, "m": self.m, "nbits": self.nbits, "nprobe": self.nprobe,
                "shortlist": self.shortlist}

    @classmethod
    def from_dict(cls, d: dict) -> "IVFPQSettings":
        return cls(int(d["nlist"]), int(d["m"]), int(d["nbits"]), int(d["nprobe"]), int(d["shortlist"]))


def settings_for(n: int, dim: int) -> IVFPQSettings:
    """nlist ~ 4 sqrt(n) (FAISS's rule of thumb), at least 1 and at most n/39 so each centroid is
    trained on 39+ points; ``m`` must divide the dimension."""
    nlist = int(max(1, min(4 * np.sqrt(max(n, 1)), max(1, n // 39), 65536)))
    m = next(c for c in (48, 32, 24, 16, 12, 8, 6, 4, 3, 2, 1) if dim % c == 0)
    nbits = int(max(1, min(8, np.log2(max(n, 2)))))  # PQ training needs 2**nbits points
    return IVFPQSettings(nlist=nlist, m=m, nbits=nbits, nprobe=min(48, nlist))


def train_sample(vectors: np.ndarray, s: IVFPQSettings, seed: int = 0) -> np.ndarray:
    """A random sample to train on: 64 points a centroid (and 256 a PQ code), read in sorted order
    so that a memory-mapped ``vectors`` is read once, front to back."""
    n = len(vectors)
    want = min(n, max(64 * s.nlist, 256 * 2 ** (s.nbits - 8) * 40))
    rows = np.sort(np.random.default_rng(seed).choice(n, want, replace=False)) if want < n else np.arange(n)
    return np.ascontiguousarray(vectors[rows], dtype=np.float32)


def build(vectors: np.ndarray, s: IVFPQSettings, chunk: int = 65536):
    """An IVF-PQ inner-product index of ``vectors`` (an array or a memory map), added in chunks."""
    import faiss

    dim = vectors.shape[1]
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFPQ(quantizer, dim, s.nlist, s.m, s.nbits, faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = 10  # k-means on 2 cores: 10 rounds reach the recall target (BENCHMARKS.md)
    index.train(train_sample(vectors, s))
    for start in range(0, len(vectors), chunk):
        index.add(np.ascontiguousarray(vectors[start:start + chunk], dtype=np.float32))
    index.nprobe = s.nprobe
    return index


class Reranked:
    """An IVF-PQ index searched like any FAISS index, its shortlist scored by exact cosine."""

    def __init__(self, index, vectors: np.ndarray, settings: IVFPQSettings):
        self.index = index
        self.vectors = vectors
        self.settings = settings
        index.nprobe = settings.nprobe

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.vectors.shape[1])
        want = min(self.ntotal, max(k, self.settings.shortlist))
        _, short = self.index.search(queries, want)
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        for row, (q, cand) in enumerate(zip(queries, short)):
            cand = np.unique(cand[cand >= 0])  # sorted: the memory map is read in file order
            if not len(cand):
                continue
            exact = np.asarray(self.vectors[cand], dtype=np.float32) @ q
            top = np.argsort(-exact, kind="stable")[:k]
            scores[row, :len(top)] = exact[top]
            ids[row, :len(top)] = cand[top]
        return scores, ids
