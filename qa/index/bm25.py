"""BM25's score matrix, built a slice of passages at a time.

bm25s builds its matrix from three arrays holding every (passage, word) pair and then sorts them: some
4.6 times the final matrix at once (1,876 MB for 406 MB at a million passages, bench/bm25_build.py).
Here what needs the whole corpus (each word's document frequency, the mean length) is counted first;
then each slice's scores are computed and written straight into their places in the final matrix, so a
build holds the matrix and one slice. The scores come from bm25s's own scorer functions, and the matrix
is the one bm25s builds (`tests/test_scale.py` checks it value for value).

A saved matrix is read back and scored here too (``StoredScores``), as bm25s's numpy backend scores it,
without importing bm25s: its import brings scipy and tqdm's asyncio, a fifth of a second of a cold start.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import chain
from pathlib import Path

import numpy as np

SLICE = 1 << 18  # word occurrences a slice: some 30 MB of working arrays


def flat_ids(ids) -> tuple[np.ndarray, np.ndarray]:
    """Word ids of all passages end to end, and where each passage ends."""
    flat, ends = getattr(ids, "flat", None), getattr(ids, "ends", None)
    if flat is not None and ends is not None:
        return np.asarray(flat, dtype=np.int32), np.asarray(ends, dtype=np.int64)
    lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
    flat = np.fromiter(chain.from_iterable(ids), dtype=np.int32, count=int(lengths.sum()))
    return flat, np.cumsum(lengths)


def _slices(ends: np.ndarray, size: int) -> list[tuple[int, int]]:
    """Passage ranges [lo, hi) of about ``size`` word occurrences each (a longer passage stands alone)."""
    out, lo, n = [], 0, len(ends)
    while lo < n:
        before = int(ends[lo - 1]) if lo else 0
        hi = max(lo + 1, int(np.searchsorted(ends, before + size, side="right")))
        out.append((lo, min(hi, n)))
        lo = hi
    return out


def _pairs(flat: np.ndarray, ends: np.ndarray, lo: int, hi: int, n_vocab: int):
    """(passage, word, count) for passages [lo, hi), ordered by passage, then word."""
    start = int(ends[lo - 1]) if lo else 0
    ids = flat[start:int(ends[hi - 1])].astype(np.int64)
    lengths = np.diff(ends[lo:hi], prepend=start)
    doc = np.repeat(np.arange(lo, hi, dtype=np.int64), lengths)
    key, tf = np.unique(doc * n_vocab + ids, return_counts=True)
    return key // n_vocab, key % n_vocab, tf


def score_matrix(flat: np.ndarray, ends: np.ndarray, n_vocab: int, *, k1: float, b: float, delta: float,
                 method: str, idf_method: str, dtype: str, int_dtype: str, size: int | None = None) -> dict:
    """bm25s's ``scores`` (CSC by word: data, indices, indptr, num_docs) for passages given as flat ids."""
    from bm25s import scoring

    size = size or SLICE
    n_docs = len(ends)
    lengths = np.diff(ends, prepend=0)
    avg = lengths.mean() if n_docs else np.float64(0)
    parts = _slices(ends, size)
    df = np.zeros(n_vocab, dtype=np.int64)
    for lo, hi in parts:
        words, counts = np.unique(_pairs(flat, ends, lo, hi, n_vocab)[1], return_counts=True)
        df[words] += counts
    idf_of = scoring._select_idf_scorer(idf_method)
    idf = np.fromiter((idf_of(int(d), N=n_docs) for d in df), dtype=dtype, count=n_vocab)
    tfc_of = scoring._select_tfc_scorer(method)
    indptr = np.zeros(n_vocab + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    data = np.empty(int(indptr[-1]), dtype=dtype)
    indices = np.empty(int(indptr[-1]), dtype=int_dtype)
    heads = indptr[:-1].copy()
    for lo, hi in parts:
        doc, word, tf = _pairs(flat, ends, lo, hi, n_vocab)
        # As bm25s computes it a passage at a time: float32 counts, float64 arithmetic, stored as dtype.
        tfc = tfc_of(tf_array=tf.astype(dtype), l_d=lengths[doc], l_avg=avg, k1=k1, b=b, delta=delta)
        scores = idf[word] * tfc
        order = np.argsort(word, kind="stable")  # passages stay in order within each word's column
        word, doc, scores = word[order], doc[order], scores[order]
        first, seen, counts = np.unique(word, return_index=True, return_counts=True)
        at = heads[word] + (np.arange(len(word)) - np.repeat(seen, counts))
        data[at] = scores
        indices[at] = doc
        heads[first] += counts
    return {"data": data, "indices": indices, "indptr": indptr, "num_docs": n_docs}


def sliced_bm25(k1: float = 1.2, b: float = 0.75):
    """A bm25s.BM25 whose index is built by ``score_matrix``; it saves, loads and searches as bm25s's own."""
    import bm25s

    class SlicedBM25(bm25s.BM25):
        def build_index_from_ids(self, unique_token_ids: Sequence[int], corpus_token_ids, show_progress=True,
                                 leave_progress=False):
            if self.method in self.methods_requiring_nonoccurrence or not len(corpus_token_ids):
                return super().build_index_from_ids(unique_token_ids, corpus_token_ids, show_progress,
                                                    leave_progress)
            self.nonoccurrence_array = None
            flat, ends = flat_ids(corpus_token_ids)
            return score_matrix(flat, ends, len(unique_token_ids), k1=self.k1, b=self.b, delta=self.delta,
                                method=self.method, idf_method=self.idf_method, dtype=self.dtype,
                                int_dtype=self.int_dtype)

    return SlicedBM25(k1=k1, b=b)


PARAMS_FILE = "params.index.json"
MATRIX_FILES = {"data": "data.csc.index.npy", "indices": "indices.csc.index.npy", "indptr": "indptr.csc.index.npy"}


class StoredScores:
    """A bm25s index saved in ``folder``, memory-mapped, with bm25s's ``scores`` and ``get_scores``."""

    def __init__(self, folder: Path, params: dict):
        self.params = params
        self.dtype = np.dtype(params.get("dtype", "float32"))
        self.int_dtype = np.dtype(params.get("int_dtype", "int32"))
        self.scores = {name: np.load(folder / file, mmap_mode="r") for name, file in MATRIX_FILES.items()}
        self.scores["num_docs"] = params["num_docs"]

    @classmethod
    def load(cls, folder: Path):
        """The index in ``folder``: read here when bm25s's numpy backend would score it with the matrix alone
        (the BM25 variants bm25s saves; not BM25L/BM25+), else by bm25s itself."""
        params = json.loads((folder / PARAMS_FILE).read_text(encoding="utf-8"))
        if params.get("method", "lucene") in ("bm25l", "bm25+") or params.get("backend", "numpy") != "numpy" \
                or params.get("num_docs") is None:
            import bm25s

            return bm25s.BM25.load(str(folder), load_corpus=False, mmap=True)
        return cls(folder, params)

    def get_scores(self, ids: list[int]) -> np.ndarray:
        """Every passage's BM25 for word ids, summed word by word as bm25s sums them."""
        sc = self.scores
        q = np.asarray(ids, dtype=self.int_dtype)
        indptr, indices, data = sc["indptr"], sc["indices"], sc["data"]
        if int(q.max(initial=0)) >= len(indptr) - 1:
            raise ValueError("a word id beyond the index's vocabulary")
        out = np.zeros(sc["num_docs"], dtype=self.dtype)
        for start, end in zip(indptr[q], indptr[q + 1]):
            np.add.at(out, indices[start:end], data[start:end])
        return out

    def save(self, folder: str, corpus=None) -> None:
        """Written as bm25s writes a loaded index (a generation copied into a new one); the caller writes
        the vocabulary."""
        import bm25s

        model = bm25s.BM25(**{k: v for k, v in self.params.items() if k not in ("num_docs", "version")})
        model.scores, model.vocab_dict, model.nonoccurrence_array = self.scores, {}, None
        model.save(folder, corpus=corpus)
