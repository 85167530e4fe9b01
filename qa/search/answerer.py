"""Turns ranked candidates into answers: marks the answering sentence, diversifies, abstains when unsupported."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from qa.index.lexical import LexicalIndex, fold
from qa.search.retriever import Candidate
from qa.types import Answer, Hit, Passage, Sentence

_CLOSERS = "”’\"'）)】」』》〉]"
_ABBREV = frozenset(
    "mr mrs ms dr prof sr jr st no nos vs etc e.g i.e fig figs vol al inc ltd co corp dept univ approx est jan feb "
    "mar apr jun jul aug sep sept oct nov dec u.s u.k".split()
)
_NUMERIC_Q = re.compile(r"多少|几|how many|how much|what year|when|哪一天|哪年|何时|什么时候", re.IGNORECASE)


@dataclass
class AbstainRule:
    """Evidence a best passage must show to be offered as an answer, by language pair.

    Calibrated for the default model on the seeds dev questions, on cmrc2018 questions asked of the
    seeds (which cannot answer them) and on cmrc2018 questions asked of their own corpus (which can):
    word evidence separates them; the cosine floor only catches questions far from everything.
    English over English text was calibrated the same way on squadshifts-wiki (BENCHMARKS.md).
    Cosines of other models live on other scales, so for them only the word evidence is used."""

    min_dense: float = 0.84  # cosine of question and best passage, Chinese over Chinese
    min_match: float = 0.45  # share of the question's word weight found in the best passage
    # The same for a question in another language than the corpus. The answerable English seeds-qa questions
    # reach 0.753-0.816; English questions on subjects the seeds never mention (France's capital, Jupiter's
    # moons) reach at most 0.746, and only the cosine tells some of them apart.
    min_dense_bridged: float = 0.75
    min_match_bridged: float = 0.1
    use_dense: bool = True
    # Other pairs, as (question language, passage language): (min_dense, min_match). A same-language
    # pair missing here takes English's (read as stemmed words, like English); a pair of two languages
    # that no dictionary joins takes the cross-lingual floor alone, since no words can be shared.
    pairs: dict[tuple[str, str], tuple[float, float]] = field(
        default_factory=lambda: {("en", "en"): (EN_MIN_DENSE, EN_MIN_MATCH)})

    def limits(self, question_lang: str, passage_lang: str, bridged: bool) -> tuple[float, float]:
        """(cosine floor, word-evidence floor) for a question in one language and a passage in another."""
        if bridged or (question_lang, passage_lang) == ("en", "zh"):
            # An English question quoting Chinese words (三甲) meets Chinese passages on those words
            # directly rather than through the dictionary, and is held to the same floors.
            return self.min_dense_bridged, self.min_match_bridged
        if (question_lang, passage_lang) in self.pairs:
            return self.pairs[question_lang, passage_lang]
        if question_lang == passage_lang == "zh":
            return self.min_dense, self.min_match
        if question_lang == passage_lang or {question_lang, passage_lang} <= _CJK_LANGS:
            return self.pairs.get(("en", "en"), (self.min_dense, self.min_match))
        return self.min_dense_bridged, 0.0


# English over English, from bench/abstain_sweep.py on squadshifts-wiki (BENCHMARKS.md): of its first 2,000
# questions asked of their own index 3.3% fall below these, and 78.5% of 2,000 asked of an index without
# their articles do. A word-evidence floor of 0.30 would abstain 4.6% of the answerable ones for 83.8%.
EN_MIN_DENSE = 0.80
EN_MIN_MATCH = 0.20
_CJK_LANGS = frozenset({"zh", "ja"})


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
                       coverage: float = 1.0, bridged: list[bool] | None = None,
                       langs: list[str] | None = None) -> list[Sentence]:
        """For each passage, the sentence with the most evidence for the question: shared words, and
        when the question shares few words with the corpus (another language), the model's judgement
        among the first passage's best sentences by words. ``bridged`` tells, passage by passage,
        which ones the question reached through the dictionary (by default: all, if it was bridged),
        ``langs`` their languages (by default the index's most common one)."""
        if bridged is None:
            bridged = [self.lexical.bridged(question)] * len(passages)
        if langs is None:
            langs = [next(iter(self.lexical.languages), "zh")] * len(passages)
        numeric = bool(_NUMERIC_Q.search(question))
        out = []
        for n, (p, via_bridge, lang) in enumerate(zip(passages, bridged, langs)):
            terms = self._terms(question, via_bridge)
            lang = "zh" if via_bridge else lang  # the bridge's words are Chinese
            spans = split_sentences(p.text) or [(0, len(p.text))]
            found = [self.lexical.found(terms, p.text[a:b], lang) for a, b in spans]
            weights = self._sentence_term_weights(terms, p, found, lang)
            total = sum(weights.values())
            scores = np.array([sum(w for t, w in weights.items() if t in f) / total if total else 0.0
                               for f in found])
            if numeric:
                scores += np.array([NUMBER_BONUS if _HAS_NUMBER.search(p.text[a:b]) else 0.0 for a, b in spans])
            words_suffice = coverage >= LEXICAL_SENTENCE_COVERAGE and not via_bridge
            if not words_suffice and n < DENSE_SENTENCE_PASSAGES:
                shortlist = np.argsort(-scores, kind="stable")[:DENSE_SENTENCES]
                dense = self.embedder.encode_passages([p.text[slice(*spans[j])] for j in shortlist]) @ qvec
                scores[shortlist] += 1.0 + dense  # the model decides among the shortlist
            a, b = spans[int(np.argmax(scores))]
            out.append(Sentence(p.text[a:b], p.source_offset(a), p.source_offset(b, end=True)))
        return out

    def _terms(self, question: str, via_bridge: bool) -> list[str]:
        return (self.lexical.bridged_terms(question) if via_bridge else self.lexical.query_terms(question))[0]

    def _sentence_term_weights(self, terms: list[str], p: Passage, found: list[set[str]],
                               lang: str) -> dict[str, float]:
        """How much finding each question word in a sentence says it is the answering one.

        The passage's topic (its title and section name) is usually named by the question and by its
        opening sentence, while the answer sentence says "it" or nothing: such words count little. Words
        found in every sentence of the passage tell its sentences apart no better."""
        context = self.lexical.found(terms, f"{p.title}\n{p.section}", lang)
        n = len(found)
        weights = {}
        for t in terms:
            found_in = sum(1 for f in found if t in f)
            w = self.lexical.idf(t, lang) * np.log(1 + (n + 1) / (found_in + 0.5))
            weights[t] = w * (TOPIC_WEIGHT if t in context else 1.0)
        return weights

    def evidence(self, question: str, best: Candidate) -> float:
        """How much of the question the best passage (with its context) accounts for, 0..1."""
        p = self.passages[best.index]
        text = "\n".join((p.title, p.section, p.text))
        if best.bridged:
            from qa.index.bridge import english_words

            folded = fold(text)
            groups = self.lexical.translated(question)
            total = len(english_words(question)) or 1
            return min(1.0, sum(n for n, cands in groups if any(c in folded for c in cands)) / total)
        terms = self.lexical.query_terms(question)[0]
        lang = self.lexical.langs[best.index]
        return self.lexical.share(terms, self.lexical.found(terms, text, lang), lang)

    def should_abstain(self, question: str, best: Candidate) -> bool:
        match = self.evidence(question, best)
        r = self.rule
        min_dense, min_match = r.limits(self.lexical.question_language(question),
                                        self.lexical.langs[best.index], best.bridged)
        return match < min_match or (r.use_dense and best.dense < min_dense)

    def compose(self, question: str, qvec: np.ndarray, cands: list[Candidate], top_k: int,
                qid: str = "", abstain: bool = True) -> Answer:
        chosen = self.diversify(cands, top_k)
        passages = [self.passages[c.index] for c in chosen]
        coverage = chosen[0].coverage if chosen else 0.0
        sentences = self.best_sentences(question, qvec, passages, coverage, [c.bridged for c in chosen],
                                        [self.lexical.langs[c.index] for c in chosen])
        hits = [Hit(rank, c.score, p, s) for rank, (c, p, s) in enumerate(zip(chosen, passages, sentences), 1)]
        abstained = bool(chosen) and abstain and self.should_abstain(question, chosen[0])
        return Answer(question=question, id=qid, hits=hits, abstained=abstained or not chosen)
