"""Word-level BM25: Chinese words by jieba (both scripts folded to Simplified), other languages by lower-cased words."""

from __future__ import annotations

import re
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

TOKENS_FILE = "tokens.tsv"
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[^\W_]+(?:[.'’][^\W_]+)*", re.UNICODE)
_HAS_CJK = re.compile(r"[\u3400-\u9fff]")
_NAME_LIKE = re.compile(r"[\u3400-\u9fff]{2,4}")  # Chinese person and place names are 2-4 characters
# Function words carry no evidence; left in, they let BM25 match any question to any passage.
_STOP = frozenset(
    "的 了 是 在 和 与 及 或 也 都 就 而 被 把 对 从 向 为 以 于 之 其 这 那 有 个 上 下 中 等 着 过 "
    "哪 什么 哪些 哪个 哪家 哪位 哪种 多少 几 谁 吗 呢 吧 啊 怎么 怎样 如何 为什么 是否 "
    "a an the of to in on at by for with from and or is are was were be been being what which who whom "
    "whose how many much when where why did do does has have had it its this that these those as into "
    "than then there their they he she his her we our you your i me my not no".split()
)


@lru_cache(maxsize=1)
def _bm25s():
    import logging

    import bm25s

    # bm25s sets its own logger to DEBUG on import, which would print build details on stderr.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


@lru_cache(maxsize=1)
def _folder():
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    return jieba


def fold(text: str) -> str:
    """One script for matching: Traditional Chinese becomes Simplified, everything lower-cased."""
    if _HAS_CJK.search(text):
        text = _folder().convert(text)
    return text.lower()


def tokenize(text: str) -> list[str]:
    """Words of a text for BM25: jieba words for Chinese runs, regex words for the rest."""
    text = fold(text)
    out: list[str] = []
    pos = 0
    for m in _CJK_RUN.finditer(text):
        out.extend(_WORD.findall(text[pos:m.start()]))
        out.extend(w for w in _jieba().cut_for_search(m.group(), HMM=True) if w.strip())
        pos = m.end()
    out.extend(_WORD.findall(text[pos:]))
    return [w for w in out if w not in _STOP]


def bm25_from_ids(ids, vocab: dict[str, int]):
    """A bm25s model of passages given as word ids (a sequence of id lists) over ``vocab``."""
    bm25s = _bm25s()
    model = bm25s.BM25(k1=1.2, b=0.75)
    model.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)
    return model


class LexicalIndex:
    """BM25 over passages; keeps the vocabulary so a query's coverage of the corpus can be measured."""

    def __init__(self, model, vocab: dict[str, int], tokens: list[list[str]] | None = None):
        self._model = model
        self.vocab = vocab
        self.tokens = tokens  # per passage, kept from a build so the next build can reuse them

    @classmethod
    def build(cls, texts: list[str], known: dict[str, list[str]] | None = None) -> "LexicalIndex":
        """BM25 over ``texts``; ``known`` maps texts already tokenized (by an earlier build) to their words."""
        known = known or {}
        tokens = [known[t] if t in known else tokenize(t) for t in texts]
        vocab: dict[str, int] = {}
        ids = [[vocab.setdefault(w, len(vocab)) for w in toks] for toks in tokens]
        return cls(bm25_from_ids(ids, vocab), vocab, tokens)

    def save(self, folder: Path) -> None:
        self._model.save(str(folder), corpus=None)
        import json

        (folder / "vocab.index.json").write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")
        if self.tokens is not None:
            # Words never hold whitespace (CJK runs and regex words), so a tab-joined line is lossless.
            with (folder / TOKENS_FILE).open("w", encoding="utf-8") as f:
                f.writelines("\t".join(toks) + "\n" for toks in self.tokens)

    @staticmethod
    def saved_tokens(folder: Path) -> list[list[str]] | None:
        """The per-passage words a build saved in ``folder``, or None for an index without them."""
        path = folder / TOKENS_FILE
        if not path.is_file():
            return None
        with path.open(encoding="utf-8") as f:
            return [line.rstrip("\n").split("\t") if line != "\n" else [] for line in f]

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        import json

        # Memory-mapped: the BM25 matrix of ten million passages stays on disk, read where a query looks.
        model = _bm25s().BM25.load(str(folder), load_corpus=False, mmap=True)
        vocab = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))
        return cls(model, vocab)

    def query_terms(self, question: str) -> tuple[list[str], float]:
        """Words to look up for a question, and the share of its words they stand for.

        A question with no Chinese over a corpus with Chinese words is carried over word by word
        through a dictionary, so an English question can still find Chinese passages."""
        toks = list(dict.fromkeys(tokenize(question)))
        known = [w for w in toks if w in self.vocab]
        if toks and self.bridged(question):
            from .bridge import english_words

            groups = self.translated(question)
            bridged = list(dict.fromkeys(c for _, cands in groups for c in cands))
            matched = sum(n for n, _ in groups)
            total = len(english_words(question)) or 1
            native = [w for w in known if not w.isalpha()]  # numbers, codes like MDT or no.2 match as written
            return list(dict.fromkeys(native + bridged)), min(1.0, matched / total)
        return known, (len(known) / len(toks) if toks else 0.0)

    def bridged(self, question: str) -> bool:
        """True when the question has no Chinese but the corpus is mostly Chinese."""
        return not _HAS_CJK.search(question) and self._has_chinese()

    def _has_chinese(self) -> bool:
        if not hasattr(self, "_chinese"):
            self._chinese = sum(1 for w in self.vocab if _HAS_CJK.match(w)) > len(self.vocab) // 4
        return self._chinese

    def translated(self, question: str) -> list[tuple[int, list[str]]]:
        """An English question's words carried over to corpus words (see ``bridge.translate_groups``).

        Kept per question: ranking, word evidence and BM25 terms all ask for the same question."""
        cache: dict[str, list[tuple[int, list[str]]]] = self.__dict__.setdefault("_translated", {})
        if question not in cache:
            from .bridge import translate_groups

            if len(cache) >= 1024:  # a batch of questions asks each once; keep memory flat
                cache.clear()
            cache[question] = translate_groups(question, self.vocab, self.words_read_as)
        return cache[question]

    def words_read_as(self, name: str) -> list[str]:
        """Corpus words whose toneless pinyin is ``name``, for names in English questions: lele -> 乐乐."""
        from .bridge import first_characters, romanized

        firsts = self._name_like_words
        found = (w for ch in dict.fromkeys(first_characters(name)) for w in firsts.get(ch, ()) if romanized(w) == name)
        return list(dict.fromkeys(found))

    @cached_property
    def _name_like_words(self) -> dict[str, list[str]]:
        """Corpus words of 2-4 Chinese characters by their first character."""
        out: dict[str, list[str]] = {}
        for w in self.vocab:
            if _NAME_LIKE.fullmatch(w):
                out.setdefault(w[0], []).append(w)
        return out

    def query_ids(self, question: str) -> list[int]:
        return [self.vocab[w] for w in self.query_terms(question)[0]]

    def idf(self, word: str) -> float:
        """BM25's inverse document frequency; a word the corpus lacks counts as the rarest."""
        n = self._model.scores["num_docs"]
        i = self.vocab.get(word)
        indptr = self._model.scores["indptr"]
        df = 0 if i is None or i + 1 >= len(indptr) else int(indptr[i + 1] - indptr[i])
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))

    def scores(self, question: str) -> np.ndarray:
        ids = self.query_ids(question)
        n = self._model.scores["num_docs"]
        if not ids:
            return np.zeros(n, dtype=np.float32)
        return np.asarray(self._model.get_scores(ids), dtype=np.float32)

    def coverage(self, question: str) -> float:
        """Share of the question's words BM25 can look for (0 for English over Chinese without a bridge)."""
        return self.query_terms(question)[1]
