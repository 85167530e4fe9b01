"""Calibrates the abstain rule for one language pair: the best passage's cosine and word evidence on
answerable questions (asked of an index that holds their answers) and on unanswerable ones.

    python bench/abstain_sweep.py --answerable INDEX QUESTIONS N --unanswerable INDEX QUESTIONS N \
        [--other-articles CORPUS]

``--other-articles CORPUS`` keeps, of the unanswerable file, only questions whose gold paragraph's
title is not among CORPUS's titles (squadshifts-wiki questions of articles a subset index lacks).
Prints, for each pair of floors, how many of each kind would be abstained."""

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

from qa.api import Index


def evidence(index: Index, questions: list[dict]) -> list[tuple[str, float, float]]:
    """(language pair, best cosine, word evidence) for each question's first passage."""
    vectors = index.embed_questions([q["question"] for q in questions])
    lex = index.stored.lexical
    out = []
    for q, v in zip(questions, vectors):
        chosen = index.answerer.diversify(index.retriever.search(q["question"], v, 30, "hybrid"), 10)
        best = chosen[0]
        pair = f"{lex.question_language(q['question'])}>{lex.langs[best.index]}" + ("(bridged)" if best.bridged else "")
        out.append((pair, best.dense, index.answerer.evidence(q["question"], best)))
    return out


def _load(path: str, n: int, keep=None) -> list[dict]:
    qs = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    return [q for q in qs if keep is None or keep(q)][:n]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--answerable", nargs=3, metavar=("INDEX", "QUESTIONS", "N"), required=True)
    ap.add_argument("--unanswerable", nargs=3, metavar=("INDEX", "QUESTIONS", "N"), required=True)
    ap.add_argument("--other-articles", type=Path)
    args = ap.parse_args()

    a_index, a_path, a_n = args.answerable
    u_index, u_path, u_n = args.unanswerable
    keep = None
    if args.other_articles:
        titles = {json.loads(line)["title"] for line in args.other_articles.read_text(encoding="utf-8").splitlines()}
        corpus = Path(u_path).with_name("corpus.jsonl")
        title_of = {r["id"]: r["title"] for r in map(json.loads, corpus.read_text(encoding="utf-8").splitlines())}
        keep = lambda q: all(title_of.get(g) not in titles for g in q["gold"])  # noqa: E731
    good = evidence(Index.open(a_index), _load(a_path, int(a_n)))
    bad = evidence(Index.open(u_index), _load(u_path, int(u_n), keep))
    print(f"answerable {len(good)} {dict(Counter(p for p, _, _ in good))}; "
          f"unanswerable {len(bad)} {dict(Counter(p for p, _, _ in bad))}")
    for name, rows in (("answerable", good), ("unanswerable", bad)):
        d = np.array([r[1] for r in rows])
        m = np.array([r[2] for r in rows])
        print(name, "cosine percentiles 1/5/50:", np.round(np.percentile(d, [1, 5, 50]), 3),
              "evidence percentiles 1/5/50:", np.round(np.percentile(m, [1, 5, 50]), 3))
    print("min_dense min_match | answerable abstained | unanswerable abstained")
    for min_dense in np.arange(0.70, 0.87, 0.02):
        for min_match in np.arange(0.0, 0.51, 0.05):
            wrong = sum(d < min_dense or m < min_match for _, d, m in good)
            right = sum(d < min_dense or m < min_match for _, d, m in bad)
            print(f"{min_dense:.2f} {min_match:.2f} | {wrong} ({wrong / len(good):.3f}) | "
                  f"{right} ({right / max(1, len(bad)):.3f})")


if __name__ == "__main__":
    main()
