"""Training examples for the reader from a SQuAD-style bench folder (corpus.jsonl + questions.jsonl).

Positives: each question against its gold paragraph, with the annotated answer offset. Negatives: the
question against paragraphs BM25 ranks high that do not hold its answer; against its own gold paragraph
with the sentences holding the answer cut out; and, where the question names its paragraph's subject, the
question with that subject swapped for another one against the unchanged paragraph (the asked fact is
there, but for somebody else: the near-miss users meet when several documents describe similar things).
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class Example:
    question: str
    prefix: str
    text: str
    start: int  # answer characters in text; -1 for a negative
    end: int


def article_of(paragraph_id: str) -> int:
    """The article number in a bench paragraph id (`cmrc2018-train-12-0` -> 12)."""
    return int(paragraph_id.rsplit("-", 2)[-2])


def answer_cut(text: str, start: int, end: int, answers: list[str], min_chars: int = 40) -> str | None:
    """The text without the sentences that overlap [start, end); None when an answer would remain or
    too little text is left."""
    from qa.search.answerer import split_sentences

    gone = [(a, b) for a, b in split_sentences(text) if a < end and b > start]
    if not gone:
        return None
    cut, at = [], 0
    for a, b in gone:
        cut.append(text[at:a])
        at = b
    cut = "".join(cut) + text[at:]
    if len(cut) < min_chars or any(x and x in cut for x in answers):
        return None
    return cut


def subject_name(title: str) -> str:
    """A title without its disambiguation ("飘香剑雨 (电影)" -> "飘香剑雨")."""
    return re.sub(r"\s*[(（][^()（）]*[)）]\s*$", "", title).strip()


def swapped_subject(question: str, title: str, text: str, titles: list[str], rng: random.Random) -> str | None:
    """The question with its paragraph's subject (the title) replaced by another subject of a like kind
    (same last character, then nearest length: 桂林市妇幼保健院 for 株洲市妇幼保健院) that the paragraph
    never mentions; None when the question does not name the title."""
    name = subject_name(title)
    if not name or name not in question:
        return None
    pool = [subject_name(t) for t in rng.sample(titles, min(200, len(titles)))]
    pool = [t for t in pool if t and t not in name and name not in t and t not in text]
    if not pool:
        return None
    pool.sort(key=lambda t: (t[-1] != name[-1], abs(len(t) - len(name))))
    return question.replace(name, rng.choice(pool[:5]))


@dataclass
class TrainingSet:
    positives: list[Example]
    pools: list[list[Example]]  # each positive's hard negatives
    cuts: list[Example | None]  # each positive's answer-cut paragraph
    # each positive with its question's subject swapped (answer offsets kept, to place the window)
    swaps: list[Example | None]

    def __add__(self, other: TrainingSet) -> TrainingSet:
        return TrainingSet(self.positives + other.positives, self.pools + other.pools, self.cuts + other.cuts,
                           self.swaps + other.swaps)


def load_examples(data: Path, limit: int, even_articles: bool = False, seed: int = 13) -> TrainingSet:
    """Positive examples and, for each, the negatives drawn from."""
    from qa.index.lexical import LexicalIndex, tokenize

    corpus = [json.loads(line) for line in (data / "corpus.jsonl").open(encoding="utf-8")]
    by_id = {p["id"]: i for i, p in enumerate(corpus)}
    questions = [json.loads(line) for line in (data / "questions.jsonl").open(encoding="utf-8")]
    if even_articles:
        questions = [q for q in questions if article_of(q["gold"][0]) % 2 == 0]
    if limit:
        questions = questions[:limit]
    # Every paragraph is read the way Chinese is (jieba for Han runs, plain words elsewhere, no stemming)
    # whatever its language, so the negatives mined do not move when language analysis changes.
    lexical = LexicalIndex.build([p["title"] + "\n" + p["text"] for p in corpus], langs=["zh"] * len(corpus))
    titles = sorted({p["title"] for p in corpus})
    rng = random.Random(seed)
    positives, pools, cuts, swaps = [], [], [], []
    for q in questions:
        gold = corpus[by_id[q["gold"][0]]]
        start = q["answer_starts"][0]
        answer = q["answers"][0]
        positives.append(Example(q["question"], gold["title"], gold["text"], start, start + len(answer)))
        cut = answer_cut(gold["text"], start, start + len(answer), q["answers"])
        cuts.append(Example(q["question"], gold["title"], cut, -1, -1) if cut else None)
        scores = lexical.word_scores(tokenize(q["question"], "zh"))
        pool = []
        ranked = np.argsort(-scores)[:8]
        swap = swapped_subject(q["question"], gold["title"], gold["text"], titles, rng)
        swaps.append(Example(swap, gold["title"], gold["text"], start, start + len(answer)) if swap else None)
        for i in ranked:
            p = corpus[int(i)]
            if p["id"] in q["gold"] or any(a and a in p["text"] for a in q["answers"]):
                continue
            pool.append(Example(q["question"], p["title"], p["text"], -1, -1))
            if len(pool) == 3:
                break
        pools.append(pool)
    return TrainingSet(positives, pools, cuts, swaps)


def crop(input_ids: list[int], spans: list, label: tuple[int, int], length: int, rng: random.Random
         ) -> tuple[list[int], list, tuple[int, int]]:
    """A window cut to `length` context tokens around its answer (or anywhere, for a negative), at a
    seeded random place; the question, title and closing tokens stay. Shorter windows train faster."""
    idx = [i for i, sp in enumerate(spans) if sp is not None]
    if not idx or idx[-1] + 1 - idx[0] <= length:
        return input_ids, spans, label
    c0, c1 = idx[0], idx[-1] + 1
    s, e = label
    lo, hi = (max(c0, e + 1 - length), min(s, c1 - length)) if s > 0 else (c0, c1 - length)
    if lo > hi:
        return input_ids, spans, label
    a = rng.randint(lo, hi)
    keep = list(range(c0)) + list(range(a, a + length)) + list(range(c1, len(input_ids)))
    shift = a - c0
    return ([input_ids[i] for i in keep], [spans[i] for i in keep],
            (s - shift, e - shift) if s > 0 else (0, 0))
