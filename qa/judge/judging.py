"""Puts the judgement to work: types each question, reads span questions, and lets the verifier decide to answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from qa.judge.features import Evidence, features
from qa.judge.qtype import QuestionType, question_type
from qa.judge.spantype import contradicts
from qa.judge.verifier import Verifier
from qa.reader.model import Reader
from qa.reader.reading import ReadingPolicy, language_of, read_answers
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


def answer_features(answer: Answer, qt: QuestionType, qvec: np.ndarray, evidence: EvidenceFn) -> np.ndarray | None:
    """The verifier's features for an answer's chosen span, or None when the reader chose none."""
    if answer.answer is None or answer.error:
        return None
    holder = next((h for h in answer.hits if h.answer is answer.answer), None)
    if holder is None:
        return None
    ev = evidence(answer.question, qvec, holder)
    top = ev if holder is answer.hits[0] else evidence(answer.question, qvec, answer.hits[0])
    return features(answer.question, qt, pair_of(answer.question, holder), holder, answer.answer, ev, top.cosine)


def read_and_judge(reader: Reader, answers: list[Answer], vectors: np.ndarray, reading: ReadingPolicy,
                   evidence: EvidenceFn, verifier: Verifier | None, abstain: bool = True) -> list[Answer]:
    """Answers typed and read; yes/no and why questions keep their passages and marked sentences without
    a span; with a verifier, a span is given only when it judges the answer likely right, the span is
    not of a kind that contradicts the question, and the retrieval evidence holds."""
    types = [question_type(a.question) for a in answers]
    spanned = [i for i, t in enumerate(types) if not t.spanless]
    out = list(answers)
    for i, a in zip(spanned, read_answers(reader, [answers[i] for i in spanned], reading, abstain=abstain)):
        out[i] = a
    for i, (a, qt) in enumerate(zip(out, types)):
        if qt.spanless:
            # Nothing to extract: the evidence sentences answer, and only the retrieval evidence abstains.
            out[i] = replace(a, question_type=qt.kind, read=False)
            continue
        if verifier is None or a.answer is None:
            out[i] = replace(a, question_type=qt.kind)
            continue
        x = answer_features(a, qt, vectors[i], evidence)
        holder = next(h for h in a.hits if h.answer is a.answer)
        p = float(verifier.probability(x)[0]) if x is not None else 0.0
        unsure = (answers[i].abstained or p < verifier.threshold(pair_of(a.question, holder))
                  or contradicts(a.answer.text, qt))
        out[i] = replace(a, question_type=qt.kind, verdict=p, abstained=abstain and unsure)
    return out
