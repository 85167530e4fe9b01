"""Turns ranked candidates into answers: marks the answering sentence, diversifies, abstains when unsupported."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .lexical import LexicalIndex, fold, tokenize
from .retrieve import Candidate
from .types import Answer, Hit, Passage, Sentence

_CLOSERS = "”’\"'）)】」』》〉]"
_ABBREV = frozenset(
    "mr mrs ms dr prof sr jr st no nos vs etc e.g i.e fig figs vol al inc ltd co corp dept univ approx est jan feb "
    "mar apr jun jul aug sep sept oct nov dec u.s u.k".split()
)
_NUMERIC_Q = re.compile(r"多少|几|how many|how much|what year|when|哪一天|哪年|何时|什么时候", re.IGNORECASE)


@dataclass
class AbstainRule:
    """Evidence a best passage must show to be offered as an answer, calibrated on dev questions."""

    min_dense: float = 0.80  # cosine of question and best passage, when BM25 cannot help
    min_match: float = 0.55  # share of the question's word weight found in the best passage
    min_combined: float = 1.20  # dense + match, when both are available


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of a text: Chinese ends (。！？；…) with any closing quote, and English ends
    that are not decimals or abbreviations."""
    spans: list[tuple[int, int]] = []
    start, i, n = 0, 0, len(text)
    while i < n:
        ch = text[i]
        end = None
        if ch in "。！？!?；;" or ch == "…":
            j = i + 1
            while j < n and (text[j] in "。！？!?；;…"):
                j += 1
            while j < n and text[j] in _CLOSERS:
                j += 1
            end = j
        elif ch == "." and _english_end(text, i):
            j = i + 1
            while j < n and text[j] in _CLOSERS:
                j += 1
            end = j
        elif ch == "\n":
            end = i + 1
        if end is not None:
            if text[start:end].strip():
                spans.append(_trim(text, start, end))
            start = i = end
            continue
        i += 1
    if text[start:].strip():
        spans.append(_trim(text, start, n))
    return spans


def _english_end(text: str, i: int) -> bool:
    nxt = text[i + 1] if i + 1 < len(text) else " "
    if not (nxt.isspace() or nxt in _CLOSERS):
        return False  # 1.5, e.g, example.com
    m = re.search(r"([A-Za-z][A-Za-z.]*)$", text[max(0, i - 12):i])
    if m and m.group(1).lower().rstrip(".") in _ABBREV:
        return False
    if m and len(m.group(1)) == 1 and m.group(1).isupper():
        return False  # initials: J. Smith
    return True


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def match_share(lexical: LexicalIndex, terms: list[str], text: str) -> float:
    """Share of the question's word weight (IDF) that occurs in a text, after script folding."""
    if not terms:
        return 0.0
    folded = fold(text)
    weights = [lexical.idf(t) for t in terms]
    total = sum(weights)
    return sum(w for t, w in zip(terms, weights) if t in folded) / total if total else 0.0


# Sentences are embedded only where words cannot pick them: the model costs ~10 ms a sentence here.
DENSE_SENTENCE_PASSAGES = 3
LEXICAL_SENTENCE_COVERAGE = 0.5


class Answerer:
    """Builds Answers from candidates: sentence choice, de-duplication and the abstain decision."""

    def __init__(self, passages: list[Passage], vectors: np.ndarray, lexical: LexicalIndex, embedder,
                 rule: AbstainRule | None = None):
        self.passages = passages
        self.vectors = vectors
        self.lexical = lexical
        self.embedder = embedder
        self.rule = rule or AbstainRule()

    def diversify(self, cands: list[Candidate], top_k: int) -> list[Candidate]:
        """Drop passages that repeat a better-ranked passage of the same document."""
        chosen: list[Candidate] = []
        for c in cands:
            p = self.passages[c.index]
            v = np.asarray(self.vectors[c.index], dtype=np.float32)
            dup = any(
                self.passages[o.index].doc == p.doc
                and float(v @ np.asarray(self.vectors[o.index], dtype=np.float32)) > 0.97
                for o in chosen
            )
            if not dup:
                chosen.append(c)
            if len(chosen) == top_k:
                break
        return chosen

    def best_sentences(self, question: str, qvec: np.ndarray, passages: list[Passage],
                       coverage: float = 1.0) -> list[Sentence]:
        """For each passage, the sentence with the most evidence for the question: shared words, and
        when the question shares few words with the corpus (another language), the model's judgement."""
        terms = self.lexical.query_terms(question)[0]
        numeric = bool(_NUMERIC_Q.search(question))
        spans_per = [split_sentences(p.text) or [(0, len(p.text))] for p in passages]
        dense_n = DENSE_SENTENCE_PASSAGES if coverage < LEXICAL_SENTENCE_COVERAGE else 0
        texts = [p.text[a:b] for p, spans in zip(passages[:dense_n], spans_per) for a, b in spans]
        dense = self.embedder.encode_passages(texts) @ qvec if texts else np.zeros(0)
        out, k = [], 0
        for n, (p, spans) in enumerate(zip(passages, spans_per)):
            best, best_score = spans[0], -1e9
            for a, b in spans:
                s = p.text[a:b]
                score = match_share(self.lexical, terms, s)
                if n < dense_n:
                    score += float(dense[k])
                    k += 1
                if numeric and re.search(r"\d|[一二三四五六七八九十百千万]", s):
                    score += 0.02
                if score > best_score:
                    best, best_score = (a, b), score
            a, b = best
            out.append(Sentence(p.text[a:b], p.source_offset(a), p.source_offset(b, end=True)))
        return out

    def should_abstain(self, question: str, best: Candidate) -> bool:
        p = self.passages[best.index]
        terms = self.lexical.query_terms(question)[0]
        match = match_share(self.lexical, terms, "\n".join((p.title, p.section, p.text)))
        r = self.rule
        if best.coverage < 0.3:  # BM25 cannot see this question (another language): dense alone decides
            return best.dense < r.min_dense
        return match < r.min_match or best.dense + match < r.min_combined

    def compose(self, question: str, qvec: np.ndarray, cands: list[Candidate], top_k: int,
                qid: str = "", abstain: bool = True) -> Answer:
        chosen = self.diversify(cands, top_k)
        passages = [self.passages[c.index] for c in chosen]
        coverage = chosen[0].coverage if chosen else 0.0
        sentences = self.best_sentences(question, qvec, passages, coverage)
        hits = [Hit(rank, c.score, p, s) for rank, (c, p, s) in enumerate(zip(chosen, passages, sentences), 1)]
        abstained = bool(chosen) and abstain and self.should_abstain(question, chosen[0])
        return Answer(question=question, id=qid, hits=hits, abstained=abstained or not chosen)
