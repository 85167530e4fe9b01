"""Training examples for the reader from a SQuAD-style bench folder (corpus.jsonl + questions.jsonl).

Positives: each question against its gold paragraph, with the annotated answer offset. Negatives: the
question against paragraphs BM25 ranks high that do not hold its answer, and against its own gold
paragraph with the sentences holding the answer cut out.
"""

from __future__ import annotations

import json
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
    from .answer import split_sentences

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


def load_examples(data: Path, limit: int, even_articles: bool = False
                  ) -> tuple[list[Example], list[list[Example]], list[Example | None]]:
    """Positive examples, for each the pool of hard negatives drawn from, and its answer-cut paragraph."""
    from .lexical import LexicalIndex, tokenize

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
    positives, pools, cuts = [], [], []
    for q in questions:
        gold = corpus[by_id[q["gold"][0]]]
        start = q["answer_starts"][0]
        answer = q["answers"][0]
        positives.append(Example(q["question"], gold["title"], gold["text"], start, start + len(answer)))
        cut = answer_cut(gold["text"], start, start + len(answer), q["answers"])
        cuts.append(Example(q["question"], gold["title"], cut, -1, -1) if cut else None)
        scores = lexical.word_scores(tokenize(q["question"], "zh"))
        pool = []
        for i in np.argsort(-scores)[:8]:
            p = corpus[int(i)]
            if p["id"] in q["gold"] or any(a and a in p["text"] for a in q["answers"]):
                continue
            pool.append(Example(q["question"], p["title"], p["text"], -1, -1))
            if len(pool) == 3:
                break
        pools.append(pool)
    return positives, pools, cuts
