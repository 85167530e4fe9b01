"""Evidence for abstaining, question by question, and the cost of reading names as pinyin.

    python bench/abstain_evidence.py SEEDS_INDEX

For every seeds-qa dev question and a few English questions the seeds never touch: the best passage's
cosine, the word evidence the abstain rule uses, the best single sentence's cosine over the top two
passages, and the share of question-word weight (outside the passage's title and section) found in the
top three passages. Then the time to carry English questions over with and without pinyin names, on a
BM25 index of the cmrc2018-train corpus (83,130 words).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT.parent / "shared" / "bench"
OFF_CORPUS = ["What is the capital of France?", "How many moons does Jupiter have?", "Who is the mayor of Guilin?",
              "Who won the 2018 World Cup?", "How do I reset my router password?",
              "What is the boiling point of water at sea level?", "What is the price of a train ticket to Shanghai?"]


def focus_share(lex, question: str, passage) -> float:
    """Share of the IDF weight of question words not in the passage's title or section found in its text."""
    from qa.index.lexical import fold

    topic, text = fold(f"{passage.title}\n{passage.section}"), fold(passage.text)
    if lex.bridged(question):
        groups = [c for _, c in lex.translated(question) if c]
        items = [(max(lex.idf(x) for x in c), any(x in text for x in c)) for c in groups
                 if not any(x in topic for x in c)]
    else:
        items = [(lex.idf(t), t in text) for t in lex.query_terms(question)[0] if t not in topic]
    total = sum(w for w, _ in items)
    return sum(w for w, found in items if found) / total if total else 1.0


def rarest_found(lex, question: str, passage) -> bool:
    """Whether the question's rarest word (for English, its rarest translated word) is in the passage."""
    from qa.index.lexical import fold

    text = fold(f"{passage.title}\n{passage.section}\n{passage.text}")
    if lex.bridged(question):
        groups = [c for _, c in lex.translated(question) if c]
        return bool(groups) and any(x in text for x in max(groups, key=lambda c: max(lex.idf(x) for x in c)))
    terms = lex.query_terms(question)[0]
    return bool(terms) and max(terms, key=lex.idf) in text


def evidence_table(index_dir: Path) -> None:
    from qa.api import Index
    from qa.search.answerer import _HAS_NUMBER, _NUMERIC_Q, split_sentences

    idx = Index.open(index_dir)
    lex, answerer = idx.stored.lexical, idx.answerer
    rows = [json.loads(line) for line in (BENCH / "seeds-qa" / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    rows += [{"id": f"off{i}", "question": q, "lang": "en", "answers": []} for i, q in enumerate(OFF_CORPUS, 1)]
    vectors = idx.embed_questions([r["question"] for r in rows])
    print("id     lang  answerable  abstained  cosine  words  best-sentence  focus@3  rarest@3  number@3")
    for r, v in zip(rows, vectors):
        q = r["question"]
        chosen = answerer.diversify(idx.retriever.search(q, v, 10), 3)
        best_sentence = 0.0
        for c in chosen[:2]:
            p = idx.passages[c.index]
            sentences = [p.text[a:b] for a, b in split_sentences(p.text)] or [p.text]
            best_sentence = max(best_sentence, float((idx.embedder.encode_passages(sentences) @ v).max()))
        top = [idx.passages[c.index] for c in chosen]
        focus = max(focus_share(lex, q, p) for p in top)
        rarest = any(rarest_found(lex, q, p) for p in top)
        number = "-" if not _NUMERIC_Q.search(q) else str(any(_HAS_NUMBER.search(p.text) for p in top))
        print(f"{r['id']:<6} {r['lang']:<5} {bool(r['answers'])!s:<11} {answerer.should_abstain(q, chosen[0])!s:<10} "
              f"{chosen[0].dense:.3f}   {answerer.evidence(q, chosen[0]):.2f}   {best_sentence:.3f}          {focus:.2f}     "
              f"{rarest!s:<9} {number}")


def name_cost() -> None:
    from qa.index.bridge import translate_groups
    from qa.index.lexical import LexicalIndex

    corpus = BENCH / "cmrc2018-train" / "corpus.jsonl"
    docs = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]
    lex = LexicalIndex.build([f"{d['title']}\n{d['text']}" for d in docs])
    questions = [json.loads(line)["question"] for line in (BENCH / "seeds-qa" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
                 if json.loads(line)["lang"] == "en"]
    translate_groups(questions[0], lex.vocab)  # the dictionary loads once, outside the timings
    print(f"\ncarrying {len(questions)} English questions over, cmrc2018 vocabulary of {len(lex.vocab):,} words:")
    for label, read_as in (("dictionary only", None), ("with names, first pass", lex.words_read_as),
                           ("with names, warm", lex.words_read_as)):
        t0 = time.perf_counter()
        for q in questions:
            translate_groups(q, lex.vocab, read_as)
        print(f"  {label}: {(time.perf_counter() - t0) / len(questions) * 1000:.1f} ms a question")


if __name__ == "__main__":
    evidence_table(Path(sys.argv[1]))
    name_cost()
