"""Puts the reader to work on an answer: reads its top passages, picks the answer span, decides to abstain.

The retrieval stage ranks passages and marks sentences; this stage reads the best of them against the
question, attaches each one's span (``Hit.answer``), chooses the answer over passages, re-marks the
sentence that holds it, and abstains when the reader finds no passage that states the asked fact.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from qa.reader.model import Reader, Span
from qa.search.answerer import split_sentences
from qa.types import Answer, Extract, Hit, Passage, Sentence

_LATIN = re.compile(r"[A-Za-z]")
_CJK = re.compile(r"[\u3400-\u9fff]")
_WORDY = re.compile(r"\w")  # a span of only punctuation is no answer


@dataclass
class ReadingPolicy:
    """How many passages the reader reads, and how sure it must be to answer.

    ``min_margin`` is the least (span score - no-answer score) that counts as an answer, by question
    language and passage language; calibrated on seeds-qa dev, cmrc2018-train questions asked of the seeds
    (none answerable there) and cmrc2018-trial questions asked of their own corpus (all answerable).
    """

    read_top: int = 3
    char_budget: int = 900  # after the first passage, stop reading once this many characters were read
    min_margin: dict[str, float] | None = None
    # How the reader's verdict meets the retrieval evidence rule: "reader" alone, "either" abstains when
    # one of them does, "both" only when both do.
    combine: str = "either"
    # The best-ranked passage the reader trusts gives the answer, so passages below it cannot change the
    # answer or the abstain decision: they are read only while no passage is trusted (False: read them
    # all, so that each carries its own span).
    stop_when_trusted: bool = True
    # Fused retrieval scores closer than this do not order two passages: between trusted spans of such
    # passages the reader's margin decides (seeds-qa dev: a former branch secretary ranked 0.002 above the
    # party secretary asked for, whose span the reader scores higher).
    tie_band: float = 0.005

    def threshold(self, question: str, passage: Passage) -> float:
        table = self.min_margin if self.min_margin is not None else DEFAULT_MARGINS
        key = f"{language_of(question)}>{language_of(passage.text)}"
        return table.get(key, table["*"])


# From `bench/reader_calibrate.py` (BENCHMARKS.md, "Reader"). Chinese over Chinese: of the answerable seeds-dev
# questions only one falls below -9, and of 300 cmrc2018-trial questions one;
# between -9 and -4 lie three answerable questions and two unanswerable ones. English questions over Chinese
# text score -21..-7 whether answerable or not, so there only the retrieval evidence decides; so too for
# pairs never measured.
NO_READER_VERDICT = -1e9
DEFAULT_MARGINS = {"zh>zh": -9.0, "en>zh": NO_READER_VERDICT, "*": NO_READER_VERDICT}


def language_of(text: str) -> str:
    """'zh' for text mostly in Chinese characters, 'en' for Latin script, else 'other'."""
    cjk, latin = len(_CJK.findall(text)), len(_LATIN.findall(text))
    if cjk == 0 and latin == 0:
        return "other"
    return "zh" if cjk >= latin / 4 else "en"


@lru_cache(maxsize=2)
def shared_reader(weights: Path | None = None, cache_dir: Path | None = None) -> Reader:
    """One loaded reader per process, however many indexes use it."""
    return Reader(weights, cache_dir=cache_dir)


def confidence(margin: float) -> float:
    """A 0..1 score for a span: how far it beats "no answer", squashed."""
    return 1.0 / (1.0 + math.exp(-margin / 4.0))


def _extract(p: Passage, span: Span) -> Extract:
    start, end = span.start, span.end
    while start < end and p.text[start].isspace():
        start += 1
    while end > start and p.text[end - 1].isspace():
        end -= 1
    return Extract(p.text[start:end], p.doc, p.paragraph, p.source_offset(start), p.source_offset(end, end=True),
                   confidence(span.margin), offset=start, margin=span.margin)


def _sentence_holding(p: Passage, offset: int, fallback: Sentence) -> Sentence:
    for a, b in split_sentences(p.text) or [(0, len(p.text))]:
        if a <= offset < b:
            return Sentence(p.text[a:b], p.source_offset(a), p.source_offset(b, end=True))
    return fallback


def passages_to_read(hits: list[Hit], policy: ReadingPolicy) -> list[Hit]:
    chosen, chars = [], 0
    for h in hits[: policy.read_top]:
        if chosen and chars >= policy.char_budget:
            break
        chosen.append(h)
        chars += len(h.passage.text)
    return chosen


def _within_tie(found: list[tuple[int, Span]], hits: list[Hit], first: int, question: str,
                policy: ReadingPolicy) -> tuple[float, int]:
    """The trusted span with the highest margin among passages tied in retrieval with the best-ranked
    trusted one (``first``)."""
    top = hits[first].score
    tied = [(span.margin, h_i) for h_i, span in found
            if top - hits[h_i].score <= policy.tie_band and span.margin >= policy.threshold(question, hits[h_i].passage)]
    margin, h_i = max(tied, key=lambda t: (t[0], -t[1]))
    return margin - policy.threshold(question, hits[h_i].passage), h_i


def read_answers(reader: Reader, answers: list[Answer], policy: ReadingPolicy | None = None,
                 abstain: bool = True) -> list[Answer]:
    """Answers with their spans read, the answer chosen and the reader's abstain decision applied.

    Questions are read together, so the model runs on full batches: first every question's top
    passage, then the next passage of those still without a trusted answer, and so on.
    """
    policy = policy or ReadingPolicy()
    chosen = {a_i: passages_to_read(ans.hits, policy) for a_i, ans in enumerate(answers)
              if not ans.error and ans.hits}
    found: dict[int, list[tuple[int, Span]]] = {}
    trusted: set[int] = set()
    # Round r reads the r-th passage of every question still without a trusted answer, in one batch.
    for r in range(max(map(len, chosen.values()), default=0)):
        jobs = [a_i for a_i, hits in chosen.items() if r < len(hits) and a_i not in trusted]
        pairs = []
        for a_i in jobs:
            p = answers[a_i].hits[r].passage
            pairs.append((answers[a_i].question, "\n".join(s for s in (p.title, p.section) if s), p.text))
        for a_i, span in zip(jobs, reader.read(pairs)):
            p = answers[a_i].hits[r].passage
            if span is not None and _WORDY.search(p.text[span.start:span.end]):
                found.setdefault(a_i, []).append((r, span))
                if policy.stop_when_trusted and span.margin >= policy.threshold(answers[a_i].question, p):
                    nxt = chosen[a_i][r + 1] if r + 1 < len(chosen[a_i]) else None
                    if nxt is None or answers[a_i].hits[r].score - nxt.score > policy.tie_band:
                        trusted.add(a_i)
    out = []
    for a_i, ans in enumerate(answers):
        if a_i not in found:
            # The reader found no span in any passage it read: nothing to answer with.
            out.append(replace(ans, read=not ans.error,
                               abstained=ans.abstained or (abstain and bool(ans.hits) and not ans.error)))
            continue
        hits = list(ans.hits)
        best: tuple[float, int] | None = None
        for h_i, span in found[a_i]:
            h = hits[h_i]
            ext = _extract(h.passage, span)
            hits[h_i] = replace(h, answer=ext, sentence=_sentence_holding(h.passage, ext.offset, h.sentence))
            gap = span.margin - policy.threshold(ans.question, h.passage)
            # The best-ranked passage that the reader trusts gives the answer: margins of different
            # passages are not on one scale (a former secretary outscored the current one), ranks are.
            if best is None or (best[0] < 0 and gap > best[0]):
                best = (gap, h_i)
        assert best is not None
        if best[0] >= 0:
            best = _within_tie(found[a_i], hits, best[1], ans.question, policy)
        unsure = best[0] < 0
        if policy.combine == "either":
            unsure = unsure or ans.abstained
        elif policy.combine == "both":
            unsure = unsure and ans.abstained
        out.append(replace(ans, hits=hits, answer=hits[best[1]].answer, abstained=abstain and unsure, read=True))
    return out


def read_more(reader: Reader, answers: list[Answer], ranks: list[list[int]],
              fits: Callable[[Answer, Hit, int], bool] | None = None, n_best: int = 1) -> list[Answer]:
    """Answers whose hits at the given ranks (0-based) carry the reader's span too, read in one batch; the
    chosen answer and the abstain decision are left as they were.

    With ``fits``, each of those hits is read again and carries the best of the reader's ``n_best`` spans
    that ``fits`` accepts for its answer, given the span's place in the reader's order (0: its own choice);
    none when no span fits, whatever span it held before."""
    jobs = [(a_i, r) for a_i, rs in enumerate(ranks) for r in rs
            if r < len(answers[a_i].hits) and (fits is not None or answers[a_i].hits[r].answer is None)]
    pairs = []
    for a_i, r in jobs:
        p = answers[a_i].hits[r].passage
        pairs.append((answers[a_i].question, "\n".join(s for s in (p.title, p.section) if s), p.text))
    hits = [list(a.hits) for a in answers]
    for (a_i, r), spans in zip(jobs, reader.read_ranked(pairs, n_best if fits is not None else 1)):
        h = hits[a_i][r]
        for nth, span in enumerate(spans):
            if not _WORDY.search(h.passage.text[span.start:span.end]):
                continue
            ext = _extract(h.passage, span)
            read = replace(h, answer=ext, sentence=_sentence_holding(h.passage, ext.offset, h.sentence))
            if fits is None or fits(answers[a_i], read, nth):
                hits[a_i][r] = read
                break
        else:
            if fits is not None:
                hits[a_i][r] = replace(h, answer=None)
    return [replace(a, hits=hs) for a, hs in zip(answers, hits)]
