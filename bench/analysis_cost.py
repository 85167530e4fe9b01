"""What reading passages by language costs at indexing, against embedding them, in one run.

    python bench/analysis_cost.py CORPUS.jsonl [N]

Times, on the first N passages (default 400) of a bench corpus: language detection (``detect_passages``),
BM25 words by language (``tokenize`` with the detected language), BM25 words read the old way (every
text as Chinese is read: ``LEGACY``), and embedding with the default model (float32, as ``qa index``).
The extra cost of languages is (detection + words by language - old words) / embedding."""

import json
import sys
import time

from qa.encoder.embedder import Embedder
from qa.index import languages as L
from qa.index.lexical import tokenize


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    rows = [json.loads(line) for line, _ in zip(open(sys.argv[1], encoding="utf-8"), range(n))]
    texts = [r["text"] for r in rows]
    docs = [r["id"] for r in rows]
    detect = timed(lambda: L.detect_passages(texts, docs))
    langs = L.detect_passages(texts, docs)
    tokenize(texts[0], langs[0])  # loads jieba, stemmers and stop words outside the timing
    tokenize(texts[0], langs[0], L.LEGACY)
    words = timed(lambda: [tokenize(t, g) for t, g in zip(texts, langs)])
    legacy = timed(lambda: [tokenize(t, "zh", L.LEGACY) for t in texts])
    embedder = Embedder()
    embedder.encode_passages(texts[:8])
    embed = timed(lambda: embedder.encode_passages(texts))
    extra = detect + words - legacy
    print(f"{len(texts)} passages: detection {1000 * detect / len(texts):.2f} ms, words by language "
          f"{1000 * words / len(texts):.2f} ms, old words {1000 * legacy / len(texts):.2f} ms, "
          f"embedding {1000 * embed / len(texts):.1f} ms a passage; extra cost {100 * extra / embed:+.2f}% of embedding")


if __name__ == "__main__":
    main()
