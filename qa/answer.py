"""Turns ranked candidates into answers: marks the answering sentence, diversifies, abstains when unsupported."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .lexical import LexicalIndex, fold
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
    """Evidence a best passage must show to be offered as an answer.

    Calibrated for the default model on the seeds dev questions, on cmrc2018 questions asked of the
    seeds (which cannot answer them) and on cmrc2018 questions asked of their own corpus (which can):
    word evidence separates them; the cosine floor only catches questions far from everything.
    Cosines of other models live on other scales, so for them only the word evidence is used."""

    min_dense: float = 0.84  # cosine of question and best passage, same language
    min_match: float = 0.45  # share of the question's word weight found in the best passage
    # The same for a question in another language than the corpus. The answerable English seeds-qa questions
    # reach 0.753-0.816; English questions on subjects the seeds never mention (France's capital, Jupiter's
    # moons) reach at most 0.746, and only the cosine tells some of them apart.
    min_dense_bridged: float = 0.75
    min_match_bridged: float = 0.1
    use_dense: bool = True


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


# Tuned on cmrc2018-train gold paragraphs (first 2,000 questions): choosing the sentence with the most
# question-word weight picks one holding the answer 0.711 of the time; discounting title words (x0.1)
# 0.827, with the in-passage rarity of words 0.830 (x0.3: 0.812, x0.0: 0.833).
TOPIC_WEIGHT = 0.1
NUMBER_BONUS = 0.15  # "how many" questions: a sentence with a number
_HAS_NUMBER = re.compile(r"\d|[一二三四五六七八九十百千万两]")

# Sentences are embedded only where words cannot pick them, and only a few: the model costs 10-25 ms a
# sentence here (every sentence of the top 3 cmrc2018 passages took 670 ms a question).
DENSE_SENTENCE_PASSAGES = 1
DENSE_SENTENCES = 4  # of that passage, the best by words
LEXICAL_SENTENCE_COVERAGE = 0.5


SAME_TEXT = 0.7  # character-bigram overlap above which two passages say the same thing


def _bigrams(text: str) -> set[str]:
    t = re.sub(r"\s+", "", fold(text))
    return {t[i:i + 2] for i in range(len(t) - 1)}


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


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
        chosen: list[tuple[Candidate, set[str]]] = []
        for c in cands:
            p = self.passages[c.index]
            grams = _bigrams(p.text)
            if not any(self.passages[o.index].doc == p.doc and _jaccard(grams, g) > SAME_TEXT for o, g in chosen):
                chosen.append((c, grams))
            if len(chosen) == top_k:
                break
        return [c for c, _ in chosen]

    def best_sentences(self, question: str, qvec: np.ndarray, passages: list[Passage],
                       coverage: float = 1.0) -> list[Sentence]:
        """For each passage, the sentence with the most evidence for the question: shared words, and
        when the question shares few words with the corpus (another language), the model's judgement
        among the first passage's best sentences by words."""
        terms = self.lexical.query_terms(question)[0]
        numeric = bool(_NUMERIC_Q.search(question))
        words_suffice = coverage >= LEXICAL_SENTENCE_COVERAGE and not self.lexical.bridged(question)
        out = []
        for n, p in enumerate(passages):
            spans = split_sentences(p.text) or [(0, len(p.text))]
            folded = [fold(p.text[a:b]) for a, b in spans]
            weights = self._sentence_term_weights(terms, p, folded)
            total = sum(weights.values())
            scores = np.array([sum(w for t, w in weights.items() if t in f) / total if total else 0.0
                               for f in folded])
            if numeric:
                scores += np.array([NUMBER_BONUS if _HAS_NUMBER.search(f) else 0.0 for f in folded])
            if not words_suffice and n < DENSE_SENTENCE_PASSAGES:
                shortlist = np.argsort(-scores, kind="stable")[:DENSE_SENTENCES]
                dense = self.embedder.encode_passages([p.text[slice(*spans[j])] for j in shortlist]) @ qvec
                scores[shortlist] += 1.0 + dense  # the model decides among the shortlist
            a, b = spans[int(np.argmax(scores))]
            out.append(Sentence(p.text[a:b], p.source_offset(a), p.source_offset(b, end=True)))
        return out

    def _sentence_term_weights(self, terms: list[str], p: Passage, folded: list[str]) -> dict[str, float]:
        """How much finding each question word in a sentence says it is the answering one.

        The passage's topic (its title and section name) is usually named by the question and by its
        opening sentence, while the answer sentence says "it" or nothing: such words count little. Words
        found in every sentence of the passage tell its sentences apart no better."""
        context = fold(f"{p.title}\n{p.section}")
        n = len(folded)
        weights = {}
        for t in terms:
            found_in = sum(1 for f in folded if t in f)
            w = self.lexical.idf(t) * np.log(1 + (n + 1) / (found_in + 0.5))
            weights[t] = w * (TOPIC_WEIGHT if t in context else 1.0)
        return weights

    def evidence(self, question: str, best: Candidate) -> float:
        """How much of the question the best passage (with its context) accounts for, 0..1."""
        p = self.passages[best.index]
        text = "\n".join((p.title, p.section, p.text))
        if self.lexical.bridged(question):
            from .bridge import english_words

            folded = fold(text)
            groups = self.lexical.translated(question)
            total = len(english_words(question)) or 1
            return min(1.0, sum(n for n, cands in groups if any(c in folded for c in cands)) / total)
        return match_share(self.lexical, self.lexical.query_terms(question)[0], text)

    def should_abstain(self, question: str, best: Candidate) -> bool:
        match = self.evidence(question, best)
        r = self.rule
        if self.lexical.bridged(question):
            low_dense, low_match = best.dense < r.min_dense_bridged, match < r.min_match_bridged
        else:
            low_dense, low_match = best.dense < r.min_dense, match < r.min_match
        return low_match or (r.use_dense and low_dense)

    def compose(self, question: str, qvec: np.ndarray, cands: list[Candidate], top_k: int,
                qid: str = "", abstain: bool = True) -> Answer:
        chosen = self.diversify(cands, top_k)
        passages = [self.passages[c.index] for c in chosen]
        coverage = chosen[0].coverage if chosen else 0.0
        sentences = self.best_sentences(question, qvec, passages, coverage)
        hits = [Hit(rank, c.score, p, s) for rank, (c, p, s) in enumerate(zip(chosen, passages, sentences), 1)]
        abstained = bool(chosen) and abstain and self.should_abstain(question, chosen[0])
        return Answer(question=question, id=qid, hits=hits, abstained=abstained or not chosen)
