"""Retrieval quality on the seeds dev questions: the figures measured with `qa eval`, less a margin."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

DEV = Path(__file__).resolve().parent / "data" / "seeds-dev.jsonl"


def squash(s):
    return re.sub(r"\s", "", s)


@pytest.fixture(scope="module")
def outcomes(seeds_index):
    qs = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines()]
    out = {}
    for mode in ("hybrid", "dense"):
        # retrieval alone: the reader's and verifier's abstentions are tested in tests/test_judge_seeds.py
        answers = seeds_index.ask_many([(q["id"], q["question"]) for q in qs], top_k=5, mode=mode, reader=False)
        rows = []
        for q, a in zip(qs, answers):
            ranks = [h.rank for h in a.hits
                     if h.passage.doc in q["docs"] and any(squash(x) in squash(h.passage.text) for x in q["answers"])]
            rows.append({"q": q, "rank": min(ranks) if ranks else None, "abstained": a.abstained})
        out[mode] = rows
    return out


def rate(rows, k, lang=None):
    sel = [r for r in rows if r["q"]["answers"] and (lang is None or r["q"]["lang"] == lang)]
    return sum(1 for r in sel if r["rank"] is not None and r["rank"] <= k) / len(sel)


def test_hybrid_hit_rates_on_seeds_dev(outcomes):
    rows = outcomes["hybrid"]
    # measured: hit@5 0.964 (zh 1.00, en 0.90), hit@1 zh 0.89, en 0.70
    assert rate(rows, 5) >= 0.92
    assert rate(rows, 5, "zh") >= 0.94
    assert rate(rows, 1, "zh") >= 0.83
    assert rate(rows, 1, "en") >= 0.6
    assert rate(rows, 5, "en") >= 0.8


def test_names_written_in_pinyin_reach_their_chinese_words(seeds_index):
    from qa.index.bridge import translate_groups

    lex = seeds_index.stored.lexical
    assert lex.words_read_as("lele") == ["乐乐"]
    assert lex.words_read_as("zhangzhiyong") == ["张志勇"]
    assert lex.words_read_as("hospital") == []
    groups = translate_groups("What did Zhang Zhiyong do for the boy Lele?", lex.vocab, lex.words_read_as)
    assert (2, ["张志勇"]) in groups and (1, ["乐乐"]) in groups
    # Lower-case words are not taken for names: "lele" here is nobody.
    assert (1, ["乐乐"]) not in translate_groups("what did lele get?", lex.vocab, lex.words_read_as)


def test_an_english_question_naming_a_person_in_pinyin_finds_the_passage(seeds_index):
    q = ("At the free clinic in Yanling County, what disease was the 6-year-old boy Lele diagnosed with by "
         "Zhuzhou Central Hospital doctors?")  # seeds-qa s31: rank 6 before names were read as pinyin, now 3
    answer = seeds_index.ask(q, top_k=5)
    assert any("多发性软骨瘤病" in h.passage.text for h in answer.hits)


def test_hybrid_is_not_worse_than_dense_on_english_questions(outcomes):
    # measured: hit@5 hybrid 0.80, dense 0.50; hit@1 hybrid 0.70, dense 0.40
    assert rate(outcomes["hybrid"], 5, "en") > rate(outcomes["dense"], 5, "en")
    assert rate(outcomes["hybrid"], 1, "en") > rate(outcomes["dense"], 1, "en")


def test_an_english_word_counts_once_however_many_translations_a_passage_holds(seeds_index):
    from qa.index.bridge import translate_groups

    question = "In the last three years, how much poverty-alleviation money has Zhuzhou Maternal and Child Health Hospital put in?"
    groups = [c for _, c in translate_groups(question, seeds_index.stored.lexical.vocab) if c]
    retriever = seeds_index.retriever
    everything = np.arange(len(seeds_index.passages))
    scores = retriever._concept_scores(question, everything)
    assert scores.max() <= len(groups)
    gold = next(i for i, p in enumerate(seeds_index.passages) if "投入扶贫资金60余万元" in p.text)
    assert scores[gold] == scores.max()  # poverty alleviation, money (资金), Zhuzhou, hospital


def test_abstaining_is_rare_on_answerable_and_happens_on_unanswerable(outcomes):
    rows = outcomes["hybrid"]
    wrong = [r for r in rows if r["q"]["answers"] and r["abstained"]]
    right = [r for r in rows if not r["q"]["answers"] and r["abstained"]]
    assert len(wrong) == 0  # measured: s13 is the closest, cosine 0.753 against the 0.75 floor
    assert len(right) >= 1


@pytest.mark.parametrize("question", ["What is the capital of France?", "How many moons does Jupiter have?",
                                      "Who is the mayor of Guilin?", "Who won the 2018 World Cup?"])
def test_english_questions_the_seeds_never_touch_are_abstained(seeds_index, question):
    # Three of these have half their words translated into the best passage, so word evidence alone would
    # answer them: the cosine floor is what abstains.
    assert seeds_index.ask(question).abstained
