"""Word-level BM25 over passages of any language: each passage is cut into words by its own
language's analyzer (``qa.index.languages``), each question by the question's, and the language of every
passage is kept with the index."""

from __future__ import annotations

import json
import re
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from qa.index import languages as L
from qa.index.bm25 import StoredScores, sliced_bm25

TOKENS_FILE = "tokens.tsv"
LANGS_FILE = "langs.txt"
ANALYSIS_FILE = "analysis.json"
_HAS_CJK = re.compile(r"[\u3400-\u9fff]")
_NAME_LIKE = re.compile(r"[\u3400-\u9fff]{2,4}")  # Chinese person and place names are 2-4 characters


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
def _convertible() -> tuple[frozenset[str], tuple[str, ...]] | None:
    """What the converter can match: the characters of its one-character entries, and its longer
    entries that hold none of them (the only ones a text without those characters can hold).

    A text holding neither is returned as it is, so ``fold`` skips the converter for it: in Simplified
    text that is most passages, and the pure-Python converter is a quarter of a build's words time.
    None when the converter's tables are not where opencc-python-reimplemented 0.1.7 keeps them."""
    try:
        tables = [table for group in _folder()._dict_chain_data
                  for _, _, table in (group if isinstance(group, list) else [group])]
        chars = frozenset(k for table in tables for k in table if len(k) == 1)
        longer = tuple(k for table in tables for k in table if len(k) > 1 and chars.isdisjoint(k))
    except (AttributeError, TypeError, ValueError):
        return None
    return chars, longer


def _may_convert(text: str) -> bool:
    found = _convertible()
    return found is None or not found[0].isdisjoint(text) or any(k in text for k in found[1])


@lru_cache(maxsize=16384)  # sentences and passages; a few MB at most
def fold(text: str) -> str:
    """One script for matching: Traditional Chinese becomes Simplified, everything lower-cased.

    Kept: answering folds the same passages and sentences again and again, and conversion costs
    about 0.2 ms a sentence."""
    if _HAS_CJK.search(text) and _may_convert(text):
        text = _folder().convert(text)
    return text.lower()


def tokenize(text: str, lang: str | None = None, version: int = L.ANALYZER_VERSION) -> list[str]:
    """Words of a text for BM25, by the analyzer of ``lang`` (detected from the text when not given)."""
    return L.analyze(fold(text), lang or L.detect(text), version)


def bm25_from_ids(ids, vocab: dict[str, int]):
    """A bm25s model of passages given as word ids (a sequence of id lists) over ``vocab``; its matrix
    is built a slice of passages at a time (``qa.index.bm25``): the same matrix, in under a third of the memory."""
    bm25s = _bm25s()
    model = sliced_bm25(k1=1.2, b=0.75)
    model.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)
    return model


class LexicalIndex:
    """BM25 over passages; keeps the vocabulary so a query's coverage of the corpus can be measured,
    and each passage's language so questions are read the way the passages were."""

    def __init__(self, model, vocab: dict[str, int], tokens: list[list[str]] | None = None,
                 langs: list[str] | None = None, version: int = L.ANALYZER_VERSION):
        self._model = model
        self.vocab = vocab
        self.tokens = tokens  # per passage, kept from a build so the next build can reuse them
        self.version = version
        n = int(model.scores["num_docs"])
        if langs is None:  # an index from before languages were recorded: Chinese or not, as a whole
            langs = [L.CHINESE if self._mostly_chinese_vocab() else "en"] * n
        self.langs = langs

    @classmethod
    def build(cls, texts: list[str], langs: list[str] | None = None,
              known: dict[str, list[str]] | None = None) -> "LexicalIndex":
        """BM25 over ``texts`` in languages ``langs`` (detected when not given); ``known`` maps texts
        already tokenized by an earlier build, in the same language, to their words."""
        known = known or {}
        langs = langs if langs is not None else L.detect_passages(texts, [str(i) for i in range(len(texts))])
        tokens = [known[t] if t in known else tokenize(t, lang) for t, lang in zip(texts, langs)]
        vocab: dict[str, int] = {}
        ids = [[vocab.setdefault(w, len(vocab)) for w in toks] for toks in tokens]
        return cls(bm25_from_ids(ids, vocab), vocab, tokens, list(langs))

    def save(self, folder: Path) -> None:
        self._model.save(str(folder), corpus=None)
        (folder / "vocab.index.json").write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")
        (folder / LANGS_FILE).write_text("".join(f"{lang}\n" for lang in self.langs), encoding="utf-8")
        (folder / ANALYSIS_FILE).write_text(json.dumps({"analyzer": self.version}), encoding="utf-8")
        if self.tokens is not None:
            # Words never hold whitespace (CJK runs and regex words), so a tab-joined line is lossless.
            with (folder / TOKENS_FILE).open("w", encoding="utf-8") as f:
                f.writelines("\t".join(toks) + "\n" for toks in self.tokens)

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        # Memory-mapped: the BM25 matrix of ten million passages stays on disk, read where a query looks.
        model = StoredScores.load(folder)
        vocab = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))
        path = folder / LANGS_FILE
        langs = path.read_text(encoding="utf-8").split() if path.is_file() else None
        if langs is not None and len(langs) != int(model.scores["num_docs"]):
            raise ValueError("passage languages do not match the passages")
        return cls(model, vocab, langs=langs, version=_analyzer_version(folder))

    # -- languages ----------------------------------------------------------------------------------
    @cached_property
    def languages(self) -> dict[str, int]:
        """Passages per language, most first."""
        counts: dict[str, int] = {}
        for lang in self.langs:
            counts[lang] = counts.get(lang, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))

    @cached_property
    def chinese(self) -> np.ndarray:
        """Which passages are Chinese (the ones an English question reaches through the bridge)."""
        return np.array([lang == L.CHINESE for lang in self.langs], dtype=bool)

    def question_language(self, question: str) -> str:
        """The question's language: its script's, else the likeliest of the index's languages written
        with spaces (English when the index has none: the bridge reads English)."""
        cache: dict[str, str] = self.__dict__.setdefault("_qlang", {})
        if question not in cache:
            if len(cache) >= 4096:
                cache.clear()
            if self.version == L.LEGACY:
                cache[question] = L.CHINESE if _HAS_CJK.search(question) else "en"
            else:
                spaced = [lang for lang in self.languages if lang not in L.UNSPACED and lang != "ko"]
                cache[question] = L.detect(question, among=spaced or ["en"])
        return cache[question]

    def _mostly_chinese_vocab(self) -> bool:
        return sum(1 for w in self.vocab if _HAS_CJK.match(w)) > len(self.vocab) // 4

    # -- questions ----------------------------------------------------------------------------------
    def query_terms(self, question: str) -> tuple[list[str], float]:
        """Words to look up for a question, read in its own language, and the share of its words the
        corpus holds."""
        toks = list(dict.fromkeys(tokenize(question, self.question_language(question), self.version)))
        known = [w for w in toks if w in self.vocab]
        return known, (len(known) / len(toks) if toks else 0.0)

    def bridged_terms(self, question: str) -> tuple[list[str], float]:
        """For a question the bridge carries over: the Chinese words of its words (with numbers and
        codes as written), and the share of its content words that found one."""
        from qa.index.bridge import english_words

        groups = self.translated(question)
        bridged = list(dict.fromkeys(c for _, cands in groups for c in cands))
        matched = sum(n for n, _ in groups)
        total = len(english_words(question)) or 1
        toks = list(dict.fromkeys(tokenize(question, L.CHINESE)))
        native = [w for w in toks if w in self.vocab and not w.isalpha()]  # numbers, codes like MDT or no.2
        return list(dict.fromkeys(native + bridged)), min(1.0, matched / total)

    def bridged(self, question: str) -> bool:
        """True when the question has no Chinese but the index holds Chinese passages: those passages
        are reached through the English-Chinese dictionary."""
        return not _HAS_CJK.search(question) and bool(self.chinese.any())

    def translated(self, question: str) -> list[tuple[int, list[str]]]:
        """An English question's words carried over to corpus words (see ``bridge.translate_groups``).

        Kept per question: ranking, word evidence and BM25 terms all ask for the same question."""
        cache: dict[str, list[tuple[int, list[str]]]] = self.__dict__.setdefault("_translated", {})
        if question not in cache:
            from qa.index.bridge import translate_groups

            if len(cache) >= 1024:  # a batch of questions asks each once; keep memory flat
                cache.clear()
            cache[question] = translate_groups(question, self.vocab, self.words_read_as)
        return cache[question]

    def words_read_as(self, name: str) -> list[str]:
        """Corpus words whose toneless pinyin is ``name``, for names in English questions: lele -> 乐乐."""
        from qa.index.bridge import first_characters, romanized

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

    def idf(self, word: str, lang: str | None = None) -> float:
        """BM25's inverse document frequency; a word the corpus lacks counts as the rarest. With ``lang``,
        among the passages in that language only: adding English passages to an index of Chinese ones
        leaves a Chinese word exactly as rare as it was."""
        n = self._model.scores["num_docs"]
        if lang is not None and len(self.languages) > 1:
            n = self.languages.get(lang, n)
        i = self.vocab.get(word)
        indptr = self._model.scores["indptr"]
        df = 0 if i is None or i + 1 >= len(indptr) else int(indptr[i + 1] - indptr[i])
        return float(np.log(1 + (max(n, df) - df + 0.5) / (df + 0.5)))

    def share(self, terms: list[str], found: set[str], lang: str | None = None) -> float:
        """Share of the words' weight (IDF, among passages in ``lang``) held by those ``found``."""
        weights = [self.idf(t, lang) for t in terms]
        total = sum(weights)
        return sum(w for t, w in zip(terms, weights) if t in found) / total if total else 0.0

    def _bm25(self, terms: list[str], lang: str | None = None) -> np.ndarray:
        ids = [self.vocab[w] for w in terms]
        n = self._model.scores["num_docs"]
        if not ids:
            return np.zeros(n, dtype=np.float32)
        if lang is None or len(self.languages) < 2:
            return np.asarray(self._model.get_scores(ids), dtype=np.float32)
        # bm25s stores each word's scores with its corpus-wide IDF built in: rescale word by word to
        # the IDF among the passages of the question's language.
        sc = self._model.scores
        out = np.zeros(n, dtype=np.float32)
        for w, i in zip(terms, ids):
            a, b = int(sc["indptr"][i]), int(sc["indptr"][i + 1])
            out[sc["indices"][a:b]] += (self.idf(w, lang) / self.idf(w)) * sc["data"][a:b]
        return out

    def word_scores(self, words: list[str]) -> np.ndarray:
        """BM25 of every passage for words already read (those the corpus lacks are left out)."""
        return self._bm25([w for w in dict.fromkeys(words) if w in self.vocab])

    def scores(self, question: str) -> np.ndarray:
        """BM25 of every passage for the question's own words."""
        return self._bm25(self.query_terms(question)[0], self.question_language(question))

    def bridged_scores(self, question: str) -> np.ndarray:
        """BM25 of every passage for the question's words carried over to Chinese."""
        return self._bm25(self.bridged_terms(question)[0], L.CHINESE)

    def coverage(self, question: str) -> float:
        """Share of the question's words BM25 can look for."""
        return self.query_terms(question)[1]

    def found(self, terms: list[str], text: str, lang: str) -> set[str]:
        """Which of ``terms`` a text holds: as substrings of Chinese text (jieba may cut a word
        differently in context), as whole words (stems) elsewhere."""
        folded = fold(text)
        if lang == L.CHINESE or self.version == L.LEGACY:
            return {t for t in terms if t in folded}
        words = set(L.analyze(folded, lang, self.version))
        return {t for t in terms if t in words}


def _analyzer_version(folder: Path) -> int:
    try:
        return int(json.loads((folder / ANALYSIS_FILE).read_text(encoding="utf-8"))["analyzer"])
    except (OSError, ValueError, KeyError, TypeError):
        return L.LEGACY
