"""Training data for the verifier, made from ../shared/bench (never the seeds): corpus, questions, labels."""

from __future__ import annotations

import json
import random
import re
from functools import lru_cache
from pathlib import Path

from qa.search.answerer import split_sentences

_PAREN = re.compile(r"\([^)]*\)")


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def cut_answers(text: str, answers: list[str]) -> str:
    """The paragraph with every sentence that holds one of the answers cut out."""
    keep = [text[a:b] for a, b in split_sentences(text) if not any(x and x in text[a:b] for x in answers)]
    return "".join(keep)


@lru_cache(maxsize=1)
def chinese_to_english() -> dict[str, str]:
    """Simplified Chinese word -> its first CC-CEDICT gloss."""
    from qa.index.bridge import _dictionary_file

    out: dict[str, str] = {}
    for line in _dictionary_file().read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, glosses = line.partition("/")
        parts = head.split(" ", 2)
        defs = [g for g in glosses.split("/") if g and not g.startswith(("CL:", "variant of", "see ", "surname ", "old variant"))]
        if len(parts) >= 2 and defs and parts[1] not in out:
            gloss = _PAREN.sub("", defs[0]).split(";")[0].strip()
            if gloss[:1].isupper() and len(gloss.split()) > 2:  # "Zhuzhou prefecture level city ..." -> Zhuzhou
                gloss = gloss.split()[0].strip(",")
            if gloss:
                out[parts[1]] = gloss
    return out


QUESTION_WORDS = {"谁": "who", "哪位": "who", "多少": "how many", "几": "how many", "哪里": "where", "哪儿": "where",
                  "什么": "what", "哪个": "which", "哪些": "which", "何时": "when", "什么时候": "when",
                  "哪一年": "which year", "哪年": "which year", "为什么": "why", "是否": "whether", "怎样": "how",
                  "如何": "how", "哪": "which"}


def code_switch(question: str) -> str:
    """An English rendering of a Chinese question, word by word through CC-CEDICT (CoSDA-ML style); names
    without an entry are written in pinyin, as English questions write Chinese names."""
    import jieba.posseg
    from pypinyin import lazy_pinyin

    table = chinese_to_english()
    words = []
    for w in jieba.posseg.cut(question):
        tok, flag = w.word, w.flag
        if not tok.strip() or re.fullmatch(r"[\W_]+", tok):
            continue
        if tok in QUESTION_WORDS:
            words.append(QUESTION_WORDS[tok])
        elif flag.startswith("nr") or (tok not in table and re.search(r"[\u4e00-\u9fff]", tok)):
            words.append("".join(lazy_pinyin(tok)).capitalize())
        else:
            words.append(table.get(tok, tok))
    return " ".join(words).strip() + "?"


def swap_subject(question: str, pool: dict[str, list[str]], rng: random.Random) -> str | None:
    """The question with one named subject (jieba nr/ns/nt) swapped for another of its kind from ``pool``;
    None when it names none."""
    import jieba.posseg

    words = [(w.word, w.flag) for w in jieba.posseg.cut(question)]
    choices = [(i, [o for o in pool[f] if o != w and o not in question])
               for i, (w, f) in enumerate(words) if f in pool and len(w) >= 2]
    choices = [(i, others) for i, others in choices if others]
    if not choices:
        return None
    i, others = choices[rng.randrange(len(choices))]
    words[i] = (others[rng.randrange(len(others))], words[i][1])
    return "".join(w for w, _ in words)


def make_set(bench: Path, out: Path, seed: int = 13, cmrc_articles: int = 360, squad_articles: int = 4,
             questions_zh: int = 700, questions_en: int = 250, questions_squad: int = 400,
             questions_swapped: int = 200) -> tuple[Path, Path]:
    """Writes corpus.jsonl and questions.jsonl under ``out``; returns their paths.

    cmrc2018-train: the first ``cmrc_articles`` paragraphs; half of them with the sentences answering their
    first two questions cut; ``questions_swapped`` more of their questions, unanswerable, with a named subject
    swapped for another of its kind. squadshifts-wiki: the first even-numbered articles, a third of their paragraphs
    dropped (their questions meet only the article's other paragraphs). A question is answerable when one of
    its answers is still in its gold paragraph as indexed. English-over-Chinese questions are code-switched
    cmrc questions."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    corpus, questions = [], []
    cmrc_c = _jsonl(bench / "cmrc2018-train" / "corpus.jsonl")[:cmrc_articles]
    keep = {p["id"] for p in cmrc_c}
    by_par: dict[str, list[dict]] = {}
    for q in _jsonl(bench / "cmrc2018-train" / "questions.jsonl"):
        if q["gold"][0] in keep:
            by_par.setdefault(q["gold"][0], []).append(q)
    indexed: dict[str, str] = {}
    for n, p in enumerate(cmrc_c):
        text = p["text"]
        if n % 2 == 1:
            cut = [a for q in by_par.get(p["id"], [])[:2] for a in q["answers"]]
            text = cut_answers(text, cut) or p["title"]
        indexed[p["id"]] = text
        corpus.append({"id": p["id"], "title": p["title"], "text": text})
    zh = [q for qs in by_par.values() for q in qs]
    rng.shuffle(zh)
    for q in zh[:questions_zh]:
        ok = any(a in indexed[q["gold"][0]] for a in q["answers"])
        questions.append({"id": q["id"], "question": q["question"], "lang": "zh", "answers": q["answers"] if ok else [],
                          "source": "cmrc"})
    for q in zh[questions_zh:questions_zh + questions_en]:
        ok = any(a in indexed[q["gold"][0]] for a in q["answers"])
        questions.append({"id": q["id"] + "-en", "question": code_switch(q["question"]), "lang": "en",
                          "answers": q["answers"] if ok else [], "source": "cmrc-code-switched"})
    # Swapped subjects: the question now asks about a person, place or organization its passage never names.
    import jieba.posseg

    pool: dict[str, list[str]] = {"nr": [], "ns": [], "nt": []}
    for q in zh:
        for w in jieba.posseg.cut(q["question"]):
            if w.flag in pool and len(w.word) >= 2 and w.word not in pool[w.flag]:
                pool[w.flag].append(w.word)
    swapped = 0
    for q in zh[questions_zh + questions_en:]:
        if swapped >= questions_swapped:
            break
        if (text := swap_subject(q["question"], pool, rng)) is not None:
            questions.append({"id": q["id"] + "-swap", "question": text, "lang": "zh", "answers": [],
                              "source": "cmrc-swapped"})
            swapped += 1
    articles = [f"squadshifts-wiki-{2 * k}" for k in range(squad_articles)]
    squad_c = [p for p in _jsonl(bench / "squadshifts-wiki" / "corpus.jsonl") if p["id"].rsplit("-", 1)[0] in articles]
    dropped = {p["id"] for n, p in enumerate(squad_c) if n % 3 == 2}
    corpus.extend(p for p in squad_c if p["id"] not in dropped)
    squad_ids = {p["id"] for p in squad_c}
    sq = [q for q in _jsonl(bench / "squadshifts-wiki" / "questions.jsonl") if q["gold"][0] in squad_ids]
    rng.shuffle(sq)
    for q in sq[:questions_squad]:
        ok = q["gold"][0] not in dropped
        questions.append({"id": q["id"], "question": q["question"], "lang": "en", "answers": q["answers"] if ok else [],
                          "source": "squadshifts"})
    cp, qp = out / "corpus.jsonl", out / "questions.jsonl"
    cp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in corpus), encoding="utf-8")
    qp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in questions), encoding="utf-8")
    return cp, qp
