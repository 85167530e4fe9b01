"""Scores an index on a question file with gold answers, for each ranking mode."""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from pathlib import Path

from qa.api import Index, check_question
from qa.errors import QAError
from qa.evaluation.judgement import by_type, judge_fields, risk_coverage
from qa.evaluation.metrics import exact_match, f1
from qa.types import Answer, Hit, Sentence

_WS = re.compile(r"\s+")
DEPTH = 10


def load_questions(path: Path) -> list[dict]:
    if not path.is_file():
        raise QAError(f"no such question file: {path}")
    out = []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise QAError(f"{path} is not UTF-8 text") from e
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                rec = json.loads(line)
                rec["question"] = str(rec["question"])
            except (ValueError, KeyError, TypeError) as e:
                raise QAError(f"{path} line {n} is not a question record ({e})") from e
            rec.setdefault("id", str(n))
            out.append(rec)
    if not out:
        raise QAError(f"no questions in {path}")
    return out


def _squash(s: str) -> str:
    return _WS.sub("", s)


def _contains(text: str, answers: list[str]) -> bool:
    t = _squash(text)
    return any(_squash(a) and _squash(a) in t for a in answers)


def _score_one(q: dict, a: Answer) -> dict:
    """Per-question outcomes; keys present depend on the gold the question carries."""
    answers = [str(x) for x in q.get("answers") or []]
    r: dict = {"abstained": a.abstained}
    if "gold" in q:
        gold = set(q["gold"])
        ranked = list(dict.fromkeys(h.passage.doc for h in a.hits))[:DEPTH]
        r["answerable"] = bool(gold)
        first = next((i for i, d in enumerate(ranked, 1) if d in gold), None)
        for k in (1, 5, 10):
            r[f"recall@{k}"] = float(first is not None and first <= k)
        r["mrr@10"] = 1.0 / first if first else 0.0
    else:
        docs = set(q.get("docs") or [])
        r["answerable"] = bool(answers)
        good = [h for h in a.hits if (not docs or h.passage.doc in docs) and _contains(h.passage.text, answers)]
        for k in (1, 5):
            r[f"hit@{k}"] = float(any(h.rank <= k for h in good))
        first_good = min((h.rank for h in good if h.rank <= DEPTH), default=None)
        r["mrr@10"] = 1.0 / first_good if first_good else 0.0
    if answers and a.hits:
        r["sentence_hit@1"] = float(_contains(a.hits[0].sentence.text, answers))
    elif answers:
        r["sentence_hit@1"] = 0.0
    scores = _answer_scores(q, a)
    return r | scores | (judge_fields(a, answers) if a.read or a.question_type else {})


def _answer_scores(q: dict, a: Answer) -> dict:
    """Answer EM/F1 (CMRC 2018 rule) when the reader ran; an abstained answerable question scores 0."""
    answers = [str(x) for x in q.get("answers") or []]
    if not answers or not (a.read or a.question_type):  # a yes/no or why question gives no span: it scores 0
        return {}
    said = None if a.abstained or a.answer is None else a.answer.text
    return {"answer_em": exact_match(said, answers) * 100, "answer_f1": f1(said, answers) * 100}


def _mean(rows: list[dict], key: str) -> float | None:
    vals = [r[key] for r in rows if key in r and r.get("answerable")]
    return round(sum(vals) / len(vals), 4) if vals else None


def _summary(rows: list[dict]) -> dict:
    keys = [k for k in ("recall@1", "recall@5", "recall@10", "mrr@10", "hit@1", "hit@5", "sentence_hit@1",
                        "answer_em", "answer_f1") if any(k in r for r in rows)]
    out = {k: _mean(rows, k) for k in keys}
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    abstained = [r for r in rows if r["abstained"]]
    right = [r for r in abstained if not r["answerable"]]
    out["questions"] = len(rows)
    out["answerable"] = len(answerable)
    out["abstained_wrongly"] = len(abstained) - len(right)
    out["abstained_rightly"] = len(right)
    out["abstain_precision"] = round(len(right) / len(abstained), 4) if abstained else None
    out["abstain_recall"] = round(len(right) / len(unanswerable), 4) if unanswerable else None
    return out


def gold_language(index: Index):
    """A function giving a question the language of the passages that answer it ("none" when no
    passage can): its ``gold`` paragraphs, else the passages of its ``docs``, by majority."""
    by_doc: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for p, lang in zip(index.passages, index.stored.lexical.langs):
        by_doc[p.doc][lang] += 1

    def lang_of(q: dict) -> str:
        docs = q.get("gold") if "gold" in q else (q.get("docs") if q.get("answers") else [])
        votes: dict[str, int] = defaultdict(int)
        for d in docs or []:
            for lang, n in by_doc.get(str(d), {}).items():
                votes[lang] += n
        return max(votes, key=votes.get) if votes else "none"

    return lang_of


def by_passage_language(rows: list[dict]) -> dict:
    """Scores by question language and answering-passage language ("en>zh": English questions
    answered by Chinese passages), when the question file holds more than one such pair."""
    pairs = defaultdict(list)
    for r in rows:
        pairs[f"{r['lang']}>{r['passage_lang']}"].append(r)
    return {pair: _summary(rs) for pair, rs in sorted(pairs.items())} if len(pairs) > 1 else {}


def _usable(path: Path, limit: int | None) -> list[dict]:
    questions = load_questions(path)[:limit]
    usable = []
    for q in questions:
        try:
            q["question"] = check_question(q["question"])
            usable.append(q)
        except QAError:
            continue
    return usable


def _by_language(rows: list[dict]) -> dict:
    by_lang = defaultdict(list)
    for r in rows:
        by_lang[r["lang"]].append(r)
    return {lang: _summary(rs) for lang, rs in sorted(by_lang.items())} if len(by_lang) > 1 else {}


def evaluate(index: Index, path: Path, modes: list[str], limit: int | None = None, top_k: int = DEPTH,
             reader: bool = True) -> dict:
    """Scores per mode, overall and per language; question embedding is shared by all modes."""
    usable = _usable(path, limit)
    texts = [q["question"] for q in usable]
    passage_lang = gold_language(index)
    t0 = time.perf_counter()
    vectors = index.embed_questions(texts)
    embed_seconds = time.perf_counter() - t0
    report: dict = {"questions": str(path), "count": len(usable), "index": str(index.folder), "modes": {}}
    for mode in modes:
        t1 = time.perf_counter()
        answers = index.answer_vectors(texts, vectors, top_k=top_k, mode=mode, ids=[str(q["id"]) for q in usable],
                                       reader=reader)
        seconds = time.perf_counter() - t1 + embed_seconds
        rows = [_score_one(q, a) | {"lang": q.get("lang") or index.stored.lexical.question_language(q["question"]),
                                    "passage_lang": passage_lang(q)}
                for q, a in zip(usable, answers)]
        report["modes"][mode] = {
            "all": _summary(rows),
            "by_language": _by_language(rows),
            "by_passage_language": by_passage_language(rows),
            "by_type": by_type(rows, _summary) if reader else {},
            "risk_coverage": risk_coverage(rows) if reader else {},
            "questions_per_second": round(len(rows) / seconds, 1) if seconds else None,
        }
    return report


def evaluate_gold_passages(index: Index, path: Path, limit: int | None = None) -> dict:
    """The reader alone: each question read against its gold paragraph(s), nothing retrieved, no abstaining.

    This is the setting in which CMRC 2018 figures are published, so the reader compares with them."""
    from qa.reader.reading import read_answers

    usable = [q for q in _usable(path, limit) if q.get("gold") and q.get("answers")]
    if not usable:
        raise QAError(f"no questions in {path} carry both gold paragraph ids and answers")
    by_doc: dict[str, list] = defaultdict(list)
    for p in index.passages:
        by_doc[p.doc].append(p)
    composed = []
    for q in usable:
        ps = [p for g in q["gold"] for p in by_doc.get(g, [])]
        hits = [Hit(n, 1.0, p, Sentence(p.text, p.start, p.end)) for n, p in enumerate(ps, 1)]
        composed.append(Answer(question=q["question"], id=str(q["id"]), hits=hits))
    t0 = time.perf_counter()
    read_all = index.reading.__class__(read_top=64, char_budget=10**9)
    answers = read_answers(index.reader, composed, read_all, abstain=False)
    seconds = time.perf_counter() - t0
    rows = [{"answerable": True, "abstained": False, "lang": q.get("lang", "?")} | _answer_scores(q, a)
            for q, a in zip(usable, answers)]
    summary = {k: _mean(rows, k) for k in ("answer_em", "answer_f1")} | {"questions": len(rows)}
    return {"questions": str(path), "count": len(rows), "index": str(index.folder),
            "modes": {"gold-passage": {"all": summary, "by_language": {},
                                       "questions_per_second": round(len(rows) / seconds, 1)}}}


def format_report(report: dict) -> str:
    """Markdown tables: one row per mode (and per language)."""
    lines = [f"{report['count']} questions from {report['questions']} against {report['index']}", ""]
    first = next(iter(report["modes"].values()))["all"]
    metrics = [k for k in first if k not in ("questions", "answerable")]
    lines.append("| mode | lang | " + " | ".join(metrics) + " | q/s |")
    lines.append("|---" * (len(metrics) + 3) + "|")
    for mode, m in report["modes"].items():
        groups = [("all", m["all"]), *m["by_language"].items(), *m.get("by_passage_language", {}).items(),
                  *((f"type {t}", s) for t, s in m.get("by_type", {}).items())]
        for lang, s in groups:
            cells = ["" if s.get(k) is None else f"{s[k]:g}" for k in metrics]
            qps = m["questions_per_second"] if lang == "all" else ""
            lines.append(f"| {mode} | {lang} | " + " | ".join(cells) + f" | {qps} |")
    for mode, m in report["modes"].items():
        if m.get("risk_coverage"):
            rc = m["risk_coverage"]
            lines.append(f"\nrisk-coverage ({mode}): " + ", ".join(f"{k} {v:g}" for k, v in rc.items()))
    return "\n".join(lines)
