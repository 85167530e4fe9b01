"""Verifier features: what the question, the reader's chosen span and the retrieval evidence say about an answer."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from qa.judge.qtype import TYPES, QuestionType
from qa.judge.spantype import contradicts, matches, pos_flags
from qa.types import Extract, Hit, Passage

PAIRS = ("zh>zh", "en>zh", "en>en")
NAMES: tuple[str, ...] = (
    "margin", "margin_pos", "margin_en_zh", "margin_en_en", "rank1", "rank", "log_length", "long_span",
    "type_match", "type_contradicts", *(f"q_{t}" for t in TYPES), "grain",
    "cosine", "top_cosine", "match", "subject_share", "span_in_question",
    *(f"pair_{p}" for p in PAIRS),
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[A-Za-z0-9]+|[\u4e00-\u9fff]")
_CAPWORD = re.compile(r"(?<!^)\b[A-Z][A-Za-z'’-]+")


@dataclass
class Evidence:
    """Retrieval evidence for one passage: its cosine with the question and the share of question words it holds."""

    cosine: float
    match: float


def subject_words(question: str) -> list[str]:
    """The question's named subjects: jieba's person/place/organization/other-name words and long nouns in
    Chinese, capitalised words (not the first) in English."""
    if _CJK.search(question):
        return list(dict.fromkeys(w for w, f in pos_flags(question)
                                  if f in ("nr", "ns", "nt", "nz", "nrt", "nrfg") or (f.startswith("n") and len(w) >= 3)))
    return list(dict.fromkeys(m.group(0).lower() for m in _CAPWORD.finditer(question)))


def subject_share(question: str, passage: Passage, fallback: float) -> float:
    """Share of the question's named subjects found in the passage, its heading or its document's title."""
    words = subject_words(question)
    if not words or (not _CJK.search(question) and _CJK.search(passage.text)):
        return fallback  # no named subject, or English names over Chinese text: the word evidence stands in
    text = f"{passage.title}\n{passage.section}\n{passage.text}".lower()
    return sum(1 for w in words if w in text) / len(words)


def span_in_question(span: str, question: str) -> float:
    """Share of the span's words (Chinese characters) that the question itself holds: an echo is no answer."""
    toks = _WORD.findall(span.lower())
    if not toks:
        return 1.0
    q = question.lower()
    return sum(1 for t in toks if t in q) / len(toks)


def features(question: str, qt: QuestionType, pair: str, hit: Hit, span: Extract, evidence: Evidence,
             top_cosine: float) -> np.ndarray:
    """The feature vector (in NAMES order) of one candidate answer."""
    m = float(span.margin)
    text = span.text
    row = {
        "margin": m, "margin_pos": max(m, 0.0),
        "margin_en_zh": m if pair == "en>zh" else 0.0, "margin_en_en": m if pair == "en>en" else 0.0,
        "rank1": float(hit.rank == 1), "rank": float(min(hit.rank, 5)),
        "log_length": math.log1p(len(text)), "long_span": float(len(text) > 24),
        "type_match": float(matches(text, qt)), "type_contradicts": float(contradicts(text, qt)),
        **{f"q_{t}": float(qt.kind == t) for t in TYPES}, "grain": float(qt.grain is not None),
        "cosine": evidence.cosine, "top_cosine": top_cosine, "match": evidence.match,
        "subject_share": subject_share(question, hit.passage, evidence.match),
        "span_in_question": span_in_question(text, question),
        **{f"pair_{p}": float(pair == p) for p in PAIRS},
    }
    return np.array([row[n] for n in NAMES], dtype=np.float64)
