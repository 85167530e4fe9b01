"""F1 that yes/no and why questions would score if read for a span as before this branch (figures in BENCHMARKS.md).

    python bench/spanless_today.py INDEX QUESTIONS N
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.api import Index
from qa.evaluation.metrics import f1
from qa.judge.qtype import question_type
from qa.reader.reading import read_answers

idx = Index.open(sys.argv[1])
qs = [json.loads(line) for line in Path(sys.argv[2]).read_text(encoding="utf-8").splitlines()][: int(sys.argv[3])]
qs = [q for q in qs if question_type(q["question"]).spanless]
texts = [q["question"] for q in qs]
vecs = idx.embed_questions(texts)
composed = [idx.answerer.compose(t, v, idx.retriever.search(t, v, 30, "hybrid"), 10, qid=str(i)) for i, (t, v) in enumerate(zip(texts, vecs))]
read = read_answers(idx.reader, composed, idx.reading, abstain=True)
tot = 0
for q, a in zip(qs, read):
    s = 0 if a.abstained or a.answer is None else f1(a.answer.text, q["answers"])
    tot += s
    print(round(s, 2), a.abstained, q["question"][:40], "|", a.answer.text[:30] if a.answer else None)
print("spanless", len(qs), "sum F1", round(100 * tot, 1), "=> F1 points over all", round(100 * tot / int(sys.argv[3]), 2))
