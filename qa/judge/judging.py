"""Puts the judgement to work: types each question, reads span questions, and lets the verifier decide to answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from qa.judge.features import Evidence, features, unit_match
from qa.judge.qtype import QuestionType, question_type
from qa.judge.spantype import contradicts, is_city, is_phrase, matches
from qa.judge.verifier import Verifier
from qa.reader.model import Reader
from qa.reader.reading import ReadingPolicy, language_of, read_answers, read_more
from qa.search.answerer import Answerer
from qa.search.retriever import Candidate
from qa.types import Answer, Hit

EvidenceFn = Callable[[str, np.ndarray, Hit], Evidence]


@dataclass
class JudgePolicy:
    """Whether the trained verifier decides (``verifier=True``) or the reader's margin alone, as before it."""

    verifier: bool = True
    weights: Path | None = None  # None: the verifier shipped with qa


def evidence_of(answerer: Answerer) -> EvidenceFn:
    """Retrieval evidence of a hit, computed as the retrieval stage does for its best passage."""
    rows = {(p.doc, p.paragraph): i for i, p in enumerate(answerer.passages)}
    lexical = answerer.lexical

    def evidence(question: str, qvec: np.ndarray, hit: Hit) -> Evidence:
        row = rows.get((hit.passage.doc, hit.passage.paragraph))
        if row is None:
            return Evidence(0.0, 0.0)
        cosine = float(np.asarray(answerer.vectors[row], dtype=np.float32) @ np.asarray(qvec, dtype=np.float32))
        bridged = lexical.bridged(question) and lexical.langs[row] == "zh"
        cand = Candidate(row, 0.0, cosine, 0.0, 0.0, bridged)
        return Evidence(cosine, float(answerer.evidence(question, cand)))

    return evidence


def pair_of(question: str, hit: Hit) -> str:
    return f"{language_of(question)}>{language_of(hit.passage.text)}"


def hit_features(answer: Answer, hit: Hit, qt: QuestionType, qvec: np.ndarray, evidence: EvidenceFn) -> np.ndarray:
    """The verifier's features for the span the reader found in one of an answer's hits."""
    assert hit.answer is not None
    ev = evidence(answer.question, qvec, hit)
    top = ev if hit is answer.hits[0] else evidence(answer.question, qvec, answer.hits[0])
    return features(answer.question, qt, pair_of(answer.question, hit), hit, hit.answer, ev, top.cosine,
                    answer.hits[0].score)


def answer_features(answer: Answer, qt: QuestionType, qvec: np.ndarray, evidence: EvidenceFn) -> np.ndarray | None:
    """The verifier's features for an answer's chosen span, or None when the reader chose none."""
    if answer.answer is None or answer.error:
        return None
    holder = next((h for h in answer.hits if h.answer is answer.answer), None)
    return None if holder is None else hit_features(answer, holder, qt, qvec, evidence)


def rejects(answer: Answer, hit: Hit, qt: QuestionType) -> bool:
    """True when the span of ``hit`` cannot answer the question whatever its score: it contradicts the
    asked type, or a Chinese number question's measure word is not the one the span counts in."""
    assert hit.answer is not None
    if contradicts(hit.answer.text, qt):
        return True
    after = hit.passage.text[hit.answer.offset + len(hit.answer.text):]
    return (qt.kind == "number" and pair_of(answer.question, hit).endswith("zh")
            and unit_match(answer.question, hit.answer.text, after) == 0.0)


def may_offer(verifier: Verifier, answer: Answer, hit: Hit, qt: QuestionType, nth: int) -> bool:
    """Whether the span of ``hit``, the reader's ``nth`` choice in its passage (0: its own), may be put to the
    verifier. Its own choice needs only not to contradict the asked type; a span it ranked lower must be of the
    asked kind outright (a name, a number with its unit, a date at the asked grain, one city), and short."""
    assert hit.answer is not None
    text = hit.answer.text
    if nth and not (matches(text, qt) and is_phrase(text) and (qt.grain != "city" or is_city(text))):
        return False
    if not nth and contradicts(text, qt):
        return False
    return not (verifier.unit_rule and rejects(answer, hit, qt))


def accepted(verifier: Verifier, answer: Answer, hit: Hit, qt: QuestionType, qvec: np.ndarray,
             evidence: EvidenceFn) -> tuple[bool, float]:
    """Whether the verifier lets the span of ``hit`` answer, and its probability of being right."""
    assert hit.answer is not None
    p = float(verifier.probability(hit_features(answer, hit, qt, qvec, evidence))[0])
    ok = p >= verifier.threshold(pair_of(answer.question, hit)) and not (verifier.unit_rule and rejects(answer, hit, qt)) \
        and not contradicts(hit.answer.text, qt)
    return ok, p


def read_and_judge(reader: Reader, answers: list[Answer], vectors: np.ndarray, reading: ReadingPolicy,
                   evidence: EvidenceFn, verifier: Verifier | None, abstain: bool = True) -> list[Answer]:
    """Answers typed and read; yes/no questions keep their passages and marked sentences without a span.

    With a verifier, a span is given only when it judges the answer likely right and the span is not of a
    kind that contradicts the question. When it rejects the reader's choice, the reader's spans in the other
    top passages (``verifier.read_on``, read now if they were not) may answer instead: of those the verifier
    accepts and the reader itself trusts (margin at least ``verifier.alternate_margin``), the one with the
    highest margin. With ``verifier.n_best`` above one, each of those passages offers the best of the reader's
    ``n_best`` spans whose kind fits the question (a day, not the year the reader liked best)."""
    types = [question_type(a.question) for a in answers]
    spanned = [i for i, t in enumerate(types) if not t.spanless]
    out = list(answers)
    for i, a in zip(spanned, read_answers(reader, [answers[i] for i in spanned], reading, abstain=abstain)):
        out[i] = a
    verdicts: dict[int, tuple[bool, float]] = {}
    for i, (a, qt) in enumerate(zip(out, types)):
        if qt.spanless:
            # Nothing to extract: the evidence sentences answer, and only the retrieval evidence abstains.
            out[i] = replace(a, question_type=qt.kind, read=False)
        elif verifier is None or a.answer is None:
            out[i] = replace(a, question_type=qt.kind)
        else:
            holder = next(h for h in a.hits if h.answer is a.answer)
            verdicts[i] = accepted(verifier, a, holder, qt, vectors[i], evidence)
    again = [i for i, (ok, _) in verdicts.items() if not ok and not answers[i].abstained]
    if verifier is not None and verifier.read_on > 0 and again:
        type_of = {out[i].question: types[i] for i in again}

        def fits(answer: Answer, hit: Hit, nth: int) -> bool:
            return may_offer(verifier, answer, hit, type_of[answer.question], nth)

        reread = read_more(reader, [out[i] for i in again], [list(range(verifier.read_on))] * len(again),
                           fits if verifier.n_best > 1 else None, verifier.n_best)
        for i, a in zip(again, reread):
            best: tuple[Hit, float] | None = None
            for h in a.hits[: verifier.read_on]:
                if h.answer is None or h.answer is out[i].answer or h.answer.margin < verifier.alternate_margin:
                    continue
                ok, p = accepted(verifier, a, h, types[i], vectors[i], evidence)
                if ok and (best is None or h.answer.margin > best[0].answer.margin):
                    best = (h, p)
            if best is not None:
                out[i] = replace(a, answer=best[0].answer)
                verdicts[i] = (True, best[1])
    for i, (ok, p) in verdicts.items():
        unsure = answers[i].abstained or not ok
        out[i] = replace(out[i], question_type=types[i].kind, verdict=p, abstained=abstain and unsure)
    return out
