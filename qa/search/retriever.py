"""Ranks passages for questions: dense (FAISS), BM25, or a fusion that trusts BM25 only as far as it matched."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.encoder.embedder import passage_text
from qa.index.lexical import fold
from qa.index.store import StoredIndex

MODES = ("hybrid", "dense", "bm25")
POOL = 100  # candidates each side contributes before fusion


@dataclass(frozen=True)
class Candidate:
    """A passage with the evidence that ranked it."""

    index: int  # position in StoredIndex.passages
    score: float
    dense: float  # cosine with the question
    lexical: float  # BM25 score (for a bridged passage: how many of the question's words it holds)
    coverage: float  # share of the question's words the corpus knows (BM25's reach)
    bridged: bool = False  # reached through the English-Chinese dictionary (an English question, a Chinese passage)


# BM25's weight by the question's language, each tuned on a dev set of that language with
# bench/fusion_sweep.py (BENCHMARKS.md): Chinese on cmrc2018-train, English on squadshifts-wiki.
# Languages without a dev set take the English value: like English, they are read as stemmed words.
LEXICAL_WEIGHTS = {"zh": 0.6, "en": 0.4}
DEFAULT_LEXICAL = 0.4
# Share of the question's words BM25 must know before it is trusted at all, by question language.
MIN_COVERAGE = {"zh": 0.3, "en": 0.3}
DEFAULT_MIN_COVERAGE = 0.3


@dataclass
class FusionWeights:
    """How much BM25 counts against dense once both are scaled to [0, 1], by language.

    ``lexical`` / ``min_coverage`` given explicitly apply to every question language (a sweep sets
    them so); left as None, each question language takes its tuned value."""

    lexical: float | None = None
    min_coverage: float | None = None  # below this, BM25 matched too little of the question to be trusted
    bridged: float = 0.7  # BM25's weight when the question was carried over by the dictionary
    bridged_min_coverage: float = 0.3
    # Added to the cosines of Chinese passages for a question the dictionary carries over, in an index
    # that also holds passages in the question's language: the same model puts a question nearer to
    # any text in its own language, so raw cosines would always favour those.
    cross_lingual_cosine: float = 0.04  # bench/cross_lingual_sweep.py, BENCHMARKS.md
    method: str = "convex"  # or "rrf": reciprocal rank fusion
    rrf_k: float = 60.0

    def lexical_for(self, lang: str) -> float:
        return self.lexical if self.lexical is not None else LEXICAL_WEIGHTS.get(lang, DEFAULT_LEXICAL)

    def min_coverage_for(self, lang: str) -> float:
        if self.min_coverage is not None:
            return self.min_coverage
        return MIN_COVERAGE.get(lang, DEFAULT_MIN_COVERAGE)


def _minmax(x: np.ndarray) -> np.ndarray:
    if x.size == 0:
        return x
    lo, hi = float(x.min()), float(x.max())
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


def _grouped(x: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x on [0, 1] within each of two groups, and each candidate's group factor: where its group's
    best stands on [0, 1] over both groups. One group: x on [0, 1] and factor 1."""
    reach = np.ones(len(x), dtype=np.float32)
    if x.size == 0 or second.all() or not second.any():
        return _minmax(x), reach
    out = np.zeros(len(x), dtype=np.float32)
    lo, hi = float(x.min()), float(x.max())
    for g in (~second, second):
        out[g] = _minmax(x[g])
        reach[g] = (float(x[g].max()) - lo) / (hi - lo) if hi > lo else 1.0
    return out, reach


def _ranks(x: np.ndarray) -> np.ndarray:
    """1-based rank of each score, best first."""
    r = np.empty(len(x), dtype=np.float64)
    r[np.argsort(-x, kind="stable")] = np.arange(1, len(x) + 1)
    return r


def _top(scores: np.ndarray, allowed: np.ndarray | None, pool: int) -> np.ndarray:
    if allowed is not None:
        scores = np.where(allowed, scores, -np.inf)
    ids = np.argsort(-scores, kind="stable")[:pool]
    return ids[np.isfinite(scores[ids])]


class Retriever:
    """Searches one stored index; the caller supplies question vectors so they can be batched.

    Passages fall in two groups for a question: those read in the question's own words, and, for a
    question without Chinese over Chinese passages, those reached through the dictionary. Each group's
    BM25 side is scaled on its own and weighted for its language pair; a group whose best passage holds
    less of the question than the other group's best is scaled down in proportion, so translated words
    never outrank passages that match the question as written."""

    def __init__(self, stored: StoredIndex, weights: FusionWeights | None = None):
        self.stored = stored
        self.weights = weights or FusionWeights()
        self._folded_cache: dict[int, str] = {}

    def search(self, question: str, qvec: np.ndarray, top_k: int, mode: str = "hybrid") -> list[Candidate]:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        n = len(self.stored.passages)
        if n == 0:
            return []
        pool = min(n, max(POOL, top_k))
        lex = self.stored.lexical
        lang = lex.question_language(question)
        bridged = lex.bridged(question)
        chinese = lex.chinese if bridged else np.zeros(n, dtype=bool)
        direct_terms, coverage = lex.query_terms(question)
        bridged_coverage = lex.bridged_terms(question)[1] if bridged else 0.0
        dense_ids, dense_top = self._dense_top(qvec, pool)
        if mode == "dense":
            cand = dense_ids
        else:
            tops = []
            if not chinese.all():
                direct = lex.scores(question)
                tops.append(_top(direct, ~chinese if bridged else None, pool))
            if bridged:
                tops.append(_top(lex.bridged_scores(question), chinese, pool))
            lexical_ids = np.unique(np.concatenate(tops)) if len(tops) > 1 else tops[0]
            cand = lexical_ids if mode == "bm25" else np.union1d(dense_ids, lexical_ids)
        dense_scores = self._cosines(qvec, cand, dict(zip(dense_ids.tolist(), dense_top.tolist())))
        in_bridge = chinese[cand]
        ranked_dense = dense_scores
        if bridged and not chinese.all() and self.weights.cross_lingual_cosine:
            ranked_dense = dense_scores + np.where(in_bridge, self.weights.cross_lingual_cosine, 0.0).astype(np.float32)
        lexical_scores = np.zeros(len(cand), dtype=np.float32)
        if mode != "dense":
            if not chinese.all():
                lexical_scores[~in_bridge] = direct[cand[~in_bridge]]
            if bridged:
                b = cand[in_bridge]
                lexical_scores[in_bridge] = (self._concept_scores(question, b) if mode == "hybrid"
                                             else lex.bridged_scores(question)[b])
        covs = np.where(in_bridge, bridged_coverage, coverage)

        if mode == "dense":
            fused = ranked_dense
        else:
            lexical_within, lexical_reach = self._scaled(question, direct_terms, cand, lexical_scores, in_bridge)
            scaled = lexical_within * lexical_reach
            if mode == "bm25":
                fused = scaled
            else:
                trust = np.where(in_bridge, self._trust(bridged_coverage, self.weights.bridged_min_coverage),
                                 self._trust(coverage, self.weights.min_coverage_for(lang)))
                if self.weights.method == "rrf":
                    k = self.weights.rrf_k
                    fused = 1.0 / (k + _ranks(ranked_dense)) + trust / (k + _ranks(scaled))
                else:
                    w = trust * np.where(in_bridge, self.weights.bridged, self.weights.lexical_for(lang))
                    dense_within, dense_reach = _grouped(ranked_dense, in_bridge)
                    # Each group is fused as it would be alone, then scaled by how close its best
                    # passages come to the other group's on each side: adding passages of another
                    # language leaves the order within a group as it was.
                    fused = ((1 - w) * dense_reach + w * lexical_reach) * ((1 - w) * dense_within + w * lexical_within)
        order = np.argsort(-fused, kind="stable")[:top_k]
        return [
            Candidate(int(cand[j]), float(fused[j]), float(dense_scores[j]), float(lexical_scores[j]),
                      float(covs[j]), bool(in_bridge[j]))
            for j in order
        ]

    def _scaled(self, question: str, terms: list[str], cand: np.ndarray, lexical: np.ndarray,
                in_bridge: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each group's lexical scores on [0, 1], and each candidate's group factor: with two groups,
        the one whose best passage holds the smaller share of the question has the ratio of the two
        shares, the other 1."""
        out = np.zeros(len(cand), dtype=np.float32)
        reach = np.ones(len(cand), dtype=np.float32)
        groups = [g for g in (~in_bridge, in_bridge) if g.any()]
        for g in groups:
            out[g] = _minmax(lexical[g])
        if len(groups) == 2 and lexical.size:
            lex = self.stored.lexical
            d = int(np.flatnonzero(~in_bridge)[np.argmax(lexical[~in_bridge])])
            b = int(np.flatnonzero(in_bridge)[np.argmax(lexical[in_bridge])])
            p = self.stored.passages[cand[d]]
            from qa.index.bridge import english_words

            total = len(english_words(question)) or 1
            lang = lex.langs[cand[d]]
            direct_share = lex.share(terms, lex.found(terms, passage_text(p), lang), lang)
            bridged_share = min(1.0, float(lexical[b]) / total)
            top = max(direct_share, bridged_share)
            if top > 0:
                reach[~in_bridge] = direct_share / top
                reach[in_bridge] = bridged_share / top
        return out, reach

    def _concept_scores(self, question: str, cand: np.ndarray) -> np.ndarray:
        """For a question carried over by the dictionary: how many of its words (each with its
        alternative translations) each candidate passage holds. In BM25 over all the translations a
        word counts once per translation a passage repeats, so common words swamp the rare ones."""
        groups = [cands for _, cands in self.stored.lexical.translated(question) if cands]
        out = np.zeros(len(cand), dtype=np.float32)
        for j, i in enumerate(cand.tolist()):
            text = self._folded(i)
            out[j] = sum(1 for cands in groups if any(c in text for c in cands))
        return out

    def _folded(self, i: int) -> str:
        """A passage with its context as matching sees it; kept, since folding costs ~0.4 ms a passage."""
        text = self._folded_cache.get(i)
        if text is None:
            text = self._folded_cache[i] = fold(passage_text(self.stored.passages[i]))
        return text

    @staticmethod
    def _trust(coverage: float, lo: float) -> float:
        """BM25's weight grows with how much of the question it could match at all."""
        return 0.0 if coverage <= lo else min(1.0, (coverage - lo) / (1 - lo))

    def _dense_top(self, qvec: np.ndarray, pool: int) -> tuple[np.ndarray, np.ndarray]:
        scores, ids = self.stored.dense.search(np.ascontiguousarray(qvec.reshape(1, -1), dtype=np.float32), pool)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep].astype(np.float32)

    def _cosines(self, qvec: np.ndarray, cand: np.ndarray, known: dict[int, float]) -> np.ndarray:
        """Exact cosine for each candidate: FAISS gave some, the stored vectors give the rest."""
        out = np.empty(len(cand), dtype=np.float32)
        missing = [j for j, i in enumerate(cand.tolist()) if i not in known]
        for j, i in enumerate(cand.tolist()):
            if i in known:
                out[j] = known[i]
        if missing:
            out[missing] = np.asarray(self.stored.vectors[cand[missing]], dtype=np.float32) @ qvec
        return out
