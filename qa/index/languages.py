"""Which language a text is in, and how each language is cut into words for BM25.

A text's language comes from its script where the script tells (Han: Chinese, kana: Japanese, Thai,
Hangul: Korean), and from py3langid among the languages written with spaces. Each language has an
analyzer: Chinese keeps jieba words (as ``qa`` always did), languages written without spaces other
than Chinese get character bigrams, and space-separated languages get lower-cased words without a
library stop-word list, reduced by their Snowball stemmer where one exists.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

# Bump when any analyzer changes: words saved by an older build are then tokenized again.
ANALYZER_VERSION = 2
LEGACY = 1  # an index built before languages were told apart: every word unstemmed

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_THAI = re.compile(r"[\u0e00-\u0e7f]")
_LETTER_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)

# Runs a Chinese/Japanese/Thai text is cut at: Han, kana (with the prolonged sound mark), Thai.
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_UNSPACED_RUN = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+"
                           r"|[\u0e00-\u0e7f]+")
_WORD = re.compile(r"[^\W_]+(?:[.'’][^\W_]+)*", re.UNICODE)

CHINESE = "zh"
UNSPACED = frozenset({"zh", "ja", "th"})  # written without spaces between words

# py3langid code -> Snowball stemmer (PyStemmer) name, for the languages Snowball covers.
SNOWBALL = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "cs": "czech", "da": "danish",
    "nl": "dutch", "en": "english", "eo": "esperanto", "et": "estonian", "fi": "finnish", "fr": "french",
    "de": "german", "el": "greek", "hi": "hindi", "hu": "hungarian", "id": "indonesian", "ga": "irish",
    "it": "italian", "lt": "lithuanian", "ne": "nepali", "nb": "norwegian", "no": "norwegian", "fa": "persian",
    "pl": "polish", "pt": "portuguese", "ro": "romanian", "ru": "russian", "sr": "serbian", "es": "spanish",
    "sv": "swedish", "ta": "tamil", "tr": "turkish",
}
# Languages written with spaces that py3langid may answer: Snowball's, and other widely written ones.
DETECTABLE = sorted(set(SNOWBALL) | set(
    "af az be bg bn bs cy gl he hr is ka kk ko lv mk ml mr ms mt pa sk sl sq sw te tl uk ur vi zh ja th".split()))
# Stop-word lists bm25s ships (English: NLTK's list, which also holds the question words).
_STOPWORD_LISTS = {
    "en": "STOPWORDS_EN_PLUS", "da": "STOPWORDS_DANISH", "nl": "STOPWORDS_DUTCH", "fr": "STOPWORDS_FRENCH",
    "de": "STOPWORDS_GERMAN", "it": "STOPWORDS_ITALIAN", "nb": "STOPWORDS_NORWEGIAN", "no": "STOPWORDS_NORWEGIAN",
    "pt": "STOPWORDS_PORTUGUESE", "ru": "STOPWORDS_RUSSIAN", "es": "STOPWORDS_SPANISH", "sv": "STOPWORDS_SWEDISH",
    "tr": "STOPWORDS_TURKISH",
}
# Chinese function words, and the English words that Chinese text and the cross-lingual bridge have
# always dropped: Chinese analysis stays what cmrc2018 was tuned on.
CHINESE_STOP = frozenset(
    "的 了 是 在 和 与 及 或 也 都 就 而 被 把 对 从 向 为 以 于 之 其 这 那 有 个 上 下 中 等 着 过 "
    "哪 什么 哪些 哪个 哪家 哪位 哪种 多少 几 谁 吗 呢 吧 啊 怎么 怎样 如何 为什么 是否 "
    "a an the of to in on at by for with from and or is are was were be been being what which who whom "
    "whose how many much when where why did do does has have had it its this that these those as into "
    "than then there their they he she his her we our you your i me my not no".split()
)
# A passage shorter than this is too little for py3langid; it takes its document's language.
MIN_DETECT_CHARS = 200
DETECT_CHARS = 400  # py3langid reads this much of a text: enough to be sure, cheap on long ones


def script_language(text: str) -> str | None:
    """The language a text's script alone tells, or None for scripts that many languages share."""
    han = len(_HAN.findall(text))
    kana = len(_KANA.findall(text))
    thai = len(_THAI.findall(text))
    hangul = len(_HANGUL.findall(text))
    words = len(_LETTER_WORD.findall(_UNSPACED_RUN.sub(" ", _HANGUL.sub(" ", text))))
    # A Chinese character is about a word's worth of text: a Chinese quote in an English paragraph
    # leaves it English, a few English names in a Chinese one leave it Chinese.
    best = max((han + kana, "cjk"), (thai, "th"), (hangul / 2, "ko"), (words, ""), key=lambda c: c[0])
    if best[0] == 0 or not best[1]:
        return None
    if best[1] == "cjk":
        return "ja" if kana * 10 >= han else CHINESE
    return best[1]


@lru_cache(maxsize=1)
def _identifier():
    """py3langid's model, loaded on first use (about a second): Chinese-only corpora never need it.

    Limited to widely written languages: left free, it reads some English paragraphs as Bikol or Wu."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE)
    ident.set_languages([c for c in DETECTABLE if c in set(ident.nb_classes)])
    return ident


def detect(text: str, among: Sequence[str] | None = None) -> str:
    """The language of one text: its script's, else py3langid's guess (limited to ``among`` if given)."""
    lang = script_language(text)
    if lang is not None:
        return lang
    if among is not None and len(among) == 1:
        return among[0]
    sample = text[:DETECT_CHARS]
    if among:
        ranked = [lang for lang, _ in _identifier().rank(sample) if lang in among]
        if ranked:
            return str(ranked[0])
    return str(_identifier().classify(sample)[0])


def detect_passages(texts: Sequence[str], docs: Sequence[str]) -> list[str]:
    """A language for each passage; short passages written with spaces take their document's."""
    langs: list[str | None] = [script_language(t) for t in texts]
    by_doc: dict[str, list[int]] = {}
    for i, d in enumerate(docs):
        if langs[i] is None:
            by_doc.setdefault(d, []).append(i)
    for idx in by_doc.values():
        long = [i for i in idx if len(texts[i]) >= MIN_DETECT_CHARS]
        for i in long:
            langs[i] = detect(texts[i])
        short = [i for i in idx if langs[i] is None]
        if short:
            votes = Counter(langs[i] for i in long)
            doc_lang = votes.most_common(1)[0][0] if votes else detect(" ".join(texts[i] for i in short))
            for i in short:
                langs[i] = doc_lang
    return [lang or "en" for lang in langs]


@lru_cache(maxsize=None)
def stopwords(lang: str) -> frozenset[str]:
    if lang == CHINESE:
        return CHINESE_STOP
    name = _STOPWORD_LISTS.get(lang)
    if name is None:
        return frozenset()
    return frozenset(getattr(_bm25s_stopwords(), name))


@lru_cache(maxsize=1)
def _bm25s_stopwords():
    """bm25s's stop-word lists (a module of tuples, importing nothing), read without running bm25s's package
    import, which brings scipy and tqdm's asyncio: a fifth of a second of an English question's cold start."""
    import importlib.util
    import sys
    from pathlib import Path

    if "bm25s" not in sys.modules and (spec := importlib.util.find_spec("bm25s")) is not None \
            and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / "stopwords.py"
        module_spec = importlib.util.spec_from_file_location("_qa_bm25s_stopwords", path)
        if path.is_file() and module_spec is not None and module_spec.loader is not None:
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
            return module
    import bm25s.stopwords

    return bm25s.stopwords


@lru_cache(maxsize=None)
def _stemmer(lang: str):
    name = SNOWBALL.get(lang)
    if name is None:
        return None
    import Stemmer

    return Stemmer.Stemmer(name, 50_000)


def stem(words: list[str], lang: str) -> list[str]:
    """Snowball stems of already lower-cased words (the words themselves for a language without one)."""
    s = _stemmer(lang)
    return s.stemWords(words) if s is not None else words


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    from qa.index.jieba_tables import install

    jieba.setLogLevel(60)
    install(jieba)  # its dictionary read where a text looks (qa/index/jieba_tables.py), not loaded whole
    jieba.initialize()  # does nothing once the tables are in place
    return jieba


def write_jieba_tables() -> None:
    """Write the tables of jieba's dictionary into the cache if they are not there yet."""
    import jieba

    from qa.index.jieba_tables import tables

    tables(jieba)


def prepare_pos_tagging() -> None:
    """Make ``jieba.posseg`` read its tags from the tables too, before anything imports it (the answer
    judgement tags spans and questions with it)."""
    from qa.index.jieba_tables import install

    install(_jieba(), pos=True)


def _bigrams(run: str) -> list[str]:
    return [run] if len(run) < 2 else [run[i:i + 2] for i in range(len(run) - 1)]


def analyze(folded: str, lang: str, version: int = ANALYZER_VERSION) -> list[str]:
    """BM25 words of an already folded (lower-cased, Simplified) text in language ``lang``.

    Chinese: jieba words for Han runs, regex words between them, Chinese stop words dropped.
    Japanese and Thai: character bigrams of their runs. Others: regex words, the language's stop
    words dropped, then stemmed. ``version`` LEGACY reads any text the way Chinese is read."""
    if version == LEGACY or lang == CHINESE:
        return [w for w in _cut(folded, _CJK_RUN, _jieba_words) if w not in CHINESE_STOP]
    if lang in UNSPACED:
        return [w for w in _cut(folded, _UNSPACED_RUN, _bigrams) if w not in CHINESE_STOP]
    stop = stopwords(lang)
    words = [w for w in _cut(folded, _CJK_RUN, _jieba_words) if w not in stop]
    return stem(words, lang)


def _jieba_words(run: str) -> list[str]:
    return [w for w in _jieba().cut_for_search(run, HMM=True) if w.strip()]


def _cut(text: str, runs: re.Pattern, split) -> list[str]:
    out: list[str] = []
    pos = 0
    for m in runs.finditer(text):
        out.extend(_WORD.findall(text[pos:m.start()]))
        out.extend(split(m.group()))
        pos = m.end()
    out.extend(_WORD.findall(text[pos:]))
    return out
