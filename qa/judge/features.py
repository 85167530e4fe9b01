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
    "cosine", "top_cosine", "match", "subject_share", "span_in_question", "score_gap", "unit_match",
    *(f"pair_{p}" for p in PAIRS),
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[A-Za-z0-9]+|[\u4e00-\u9fff]")
_CAPWORD = re.compile(r"(?<!^)\b[A-Z][A-Za-z'’-]+")
# The measure word or unit a Chinese number question asks in: 多少张(床位), 几个(病区), 多少人次, 多少元.
_ASKED_UNIT = re.compile(r"(?:多少|几)([张名位家人元岁天年月周次项台例床面篇所座件种条辆分秒米克斤倍层栋批轮期届间])")
# Measure words that count the same things: a question in one may be answered in another (多少名 -> 10人).
_SAME_MEASURE = ({"名", "位", "人", "例"}, {"座", "间", "栋", "所", "家"}, {"次", "回", "趟"}, {"年", "岁"})


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


# The counted noun, past a possessive ("how many master's graduates" counts graduates).
_COUNTED = re.compile(r"\bhow (?:many|much) (?:[a-z-]+'s\s+)?([a-z][a-z'-]*)", re.IGNORECASE)
# Chinese nouns for people end so (毕业生, 医师, 村民, 患者): Chinese counts people in 名, 位, 人.
_PERSON_NOUN_END = ("人", "生", "员", "士", "师", "者", "民", "夫")
_PEOPLE = ("名", "位", "人", "例")
# What CC-CEDICT does not gloss as the unit a Chinese text counts it in.
_MONEY = ("元", "钱", "款", "资金", "费")
_CURRENCY_WORDS = frozenset({"money", "funding", "funds", "fund", "yuan", "rmb", "cost", "donation", "donations"})


def asked_units(question: str) -> tuple[str, ...] | None:
    """The measure words or nouns a number question counts in, in Chinese: 张 for 多少张床位, 床/床位 for "how many
    beds"; None when it names none the dictionary knows."""
    if asked := [m.group(1) for m in _ASKED_UNIT.finditer(question)]:
        return tuple(dict.fromkeys(u for a in asked for u in next((c for c in _SAME_MEASURE if a in c), {a})))
    if not (m := _COUNTED.search(question)):
        return None
    word = m.group(1).lower().removesuffix("'s")
    if word in _CURRENCY_WORDS:
        return _MONEY
    from qa.index.bridge import _forms, english_to_chinese

    table = english_to_chinese()
    found = [zh for form in _forms(word) for zh in table.get(form, ())[:3]]
    if any(zh.endswith(_PERSON_NOUN_END) for zh in found):
        found += _PEOPLE
    return tuple(dict.fromkeys(found)) or None


def unit_match(question: str, span: str, after: str = "") -> float:
    """1 when the span (or the few characters after it) holds the unit a number question counts in, 0 when it
    does not, 0.5 when the question names none."""
    units = asked_units(question)
    if units is None:
        return 0.5
    around = span + after[:3]
    return float(any(u in around or (len(u) > 1 and u[-1] in around) for u in units))


def typing_features(span: str, qt: QuestionType) -> dict[str, float]:
    """The features that come from the span's text and the question's type alone: training rows refresh
    these with ``refresh_typing`` when the typing rules change, without reading again."""
    return {"type_match": float(matches(span, qt)), "type_contradicts": float(contradicts(span, qt)),
            **{f"q_{t}": float(qt.kind == t) for t in TYPES}, "grain": float(qt.grain is not None)}


def refresh_typing(x: list[float], span: str, qt: QuestionType) -> list[float]:
    """A feature vector with its typing features computed again by today's rules."""
    out = list(x)
    for name, value in typing_features(span, qt).items():
        out[NAMES.index(name)] = value
    return out


def features(question: str, qt: QuestionType, pair: str, hit: Hit, span: Extract, evidence: Evidence,
             top_cosine: float, top_score: float) -> np.ndarray:
    """The feature vector (in NAMES order) of one candidate answer."""
    m = float(span.margin)
    text = span.text
    row = {
        "margin": m, "margin_pos": max(m, 0.0),
        "margin_en_zh": m if pair == "en>zh" else 0.0, "margin_en_en": m if pair == "en>en" else 0.0,
        "rank1": float(hit.rank == 1), "rank": float(min(hit.rank, 5)),
        "log_length": math.log1p(len(text)), "long_span": float(len(text) > 24),
        **typing_features(text, qt),
        "cosine": evidence.cosine, "top_cosine": top_cosine, "match": evidence.match,
        "subject_share": subject_share(question, hit.passage, evidence.match),
        "span_in_question": span_in_question(text, question),
        "score_gap": min(max(top_score - hit.score, 0.0), 1.0),
        # Units are looked for in Chinese text only: an English span counts in words ("160", "four parts").
        "unit_match": (unit_match(question, text, hit.passage.text[span.offset + len(text):])
                       if qt.kind == "number" and pair.endswith("zh") else 0.5),
        **{f"pair_{p}": float(pair == p) for p in PAIRS},
    }
    return np.array([row[n] for n in NAMES], dtype=np.float64)
