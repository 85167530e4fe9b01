"""What reading only part of each passage does to answers: the sentence retrieval marked, with whole
neighbouring sentences added while an estimate of their tokens stays within a budget (0: the whole passage).

    python bench/reading_view.py INDEX QUESTIONS [--limit N] [--budgets 0,320,240,160]

For each budget, `qa eval`'s hybrid figures (answer EM/F1, abstentions, questions a second) with the reader
reading only that view. The reader's spans are mapped back to passage offsets, so everything after reading
(the judgement, the citations) is as shipped. Prints one JSON line a budget, and how often the view holds an
answer of the top passage.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.search.answerer import split_sentences  # noqa: E402

_CJK = re.compile(r"[\u3400-\u9fff]")


def tokens_about(text: str) -> float:
    """~0.9 reader tokens a Chinese character, ~0.25 any other (cmrc2018-trial: 0.73 a character overall,
    squadshifts-wiki 0.23)."""
    cjk = len(_CJK.findall(text))
    return 0.9 * cjk + 0.25 * (len(text) - cjk)


def view(text: str, mark: str, budget: int) -> tuple[str, int]:
    """The part of ``text`` read and where it starts: the sentence holding ``mark``, then its neighbours, next
    one first, while they fit in ``budget`` tokens."""
    if budget <= 0 or tokens_about(text) <= budget:
        return text, 0
    sentences = split_sentences(text)
    at = text.find(mark) if mark else -1
    centre = next((i for i, (a, b) in enumerate(sentences) if a <= at < b), None) if at >= 0 else None
    if centre is None:
        return text, 0
    lo = hi = centre
    used = tokens_about(text[slice(*sentences[centre])])
    grew = True
    while grew:
        grew = False
        for nxt in (hi + 1, lo - 1):
            if 0 <= nxt < len(sentences) and not lo <= nxt <= hi:
                cost = tokens_about(text[slice(*sentences[nxt])])
                if used + cost <= budget:
                    used, lo, hi, grew = used + cost, min(lo, nxt), max(hi, nxt), True
    return text[sentences[lo][0]:sentences[hi][1]], sentences[lo][0]


def main() -> None:
    from qa.api import Index
    from qa.evaluation.evaluate import DEPTH, _usable, evaluate

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("index", type=Path)
    ap.add_argument("questions", type=Path)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--budgets", default="0,320,240,160")
    a = ap.parse_args()
    idx = Index.open(a.index)
    usable = _usable(a.questions, a.limit)
    # The sentences retrieval marks, before any reading re-marks them: they place each view.
    plain = idx.ask_many([q["question"] for q in usable], top_k=DEPTH, reader=False)
    marks = {(ans.question, h.passage.text): h.sentence.text for ans in plain for h in ans.hits}
    reader = idx.reader
    read_ranked = type(reader).read_ranked
    for budget in (int(b) for b in a.budgets.split(",")):
        def viewed(pairs, n, budget=budget):
            cut = [(q, prefix, *view(text, marks.get((q, text), ""), budget)) for q, prefix, text in pairs]
            found = read_ranked(reader, [(q, prefix, v) for q, prefix, v, _ in cut], n)
            return [[replace(s, start=s.start + at, end=s.end + at) for s in spans]
                    for spans, (_, _, _, at) in zip(found, cut)]

        reader.read_ranked = viewed
        reader.forget()
        report = evaluate(idx, a.questions, ["hybrid"], limit=a.limit)["modes"]["hybrid"]
        top = [(q, ans.hits[0]) for q, ans in zip(usable, plain) if ans.hits
               and any(g in ans.hits[0].passage.text for g in q.get("answers") or [])]
        held = sum(any(g in view(h.passage.text, h.sentence.text, budget)[0] for g in q["answers"]) for q, h in top)
        s = report["all"]
        print(json.dumps({"budget": budget, "questions": len(usable), "answer_em": s.get("answer_em"),
                          "answer_f1": s.get("answer_f1"), "unanswerable_abstained": s.get("abstained_rightly"),
                          "answerable_abstained": s.get("abstained_wrongly"),
                          "zh_f1": report["by_language"].get("zh", {}).get("answer_f1"),
                          "questions_per_second": report["questions_per_second"],
                          "top_passage_holds_answer": len(top), "view_holds_answer": held}), flush=True)


if __name__ == "__main__":
    main()
