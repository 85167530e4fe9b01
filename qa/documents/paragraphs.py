"""Splits documents into citable paragraphs: joins page-broken sentences, finds headings, drops boilerplate."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from qa.documents import Document
from qa.types import Passage

_BLANK = re.compile(r"\n[ \t\u3000\xa0]*\n[\s\u3000]*")
_TERMINAL = "。！？!?；;…."
_CLOSERS = "”’\"'）)】」』》〉]"
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_BOILERPLATE = re.compile(
    r"^\s*(版权声明|免责声明|版权所有|上一篇|下一篇|相关推荐|相关阅读|推荐阅读|扫一扫|分享到|返回顶部|"
    r"copyright\b|©|all rights reserved|previous( post| article)?\s*[:：]|next( post| article)?\s*[:：]|"
    r"\(\d+\)$|（\d+）$)",
    re.IGNORECASE,
)
# A credit or byline: "(供图/株洲市中心医院)", "文/刘琼 戴友清 供图/株洲市妇幼保健院", "通讯员 徐智",
# "Photo: Jane Doe". It says who made the article, not what it states: dropped like boilerplate, since its words
# (the hospital's name, most often) would otherwise pull it, or any paragraph it joined, up the ranking.
_NAMES = r"[^\n/／:：()（）。！？!?]{1,30}?"
_CREDIT = re.compile(
    r"^\s*[（(]?\s*(?:(?:(?:文|图|摄|供图|图片|图文|文图|摄影|来源|出处|作者|编辑|责编|责任编辑|美术编辑|校对|审核)"
    r"\s*[/／:：]|(?:特约)?记者|通讯员|摄影)\s*" + _NAMES + r"\s*)+[）)]?\s*$"
    r"|^\s*\(?\s*(?:photos?|images?|pictures?|photo credit|source|credits?)\s*(?:by|:|courtesy of)\s*[^\n]{1,60}\)?\s*$",
    re.IGNORECASE,
)
HEADING_MAX_CHARS = 40
TITLE_MAX_CHARS = 120


@dataclass(frozen=True)
class _Block:
    start: int
    end: int
    text: str
    joins: tuple[tuple[int, int], ...] = ()  # (offset in text, source characters dropped there)

    @property
    def flat(self) -> str:
        return re.sub(r"\s+", " ", self.text).strip()


def _blocks(text: str) -> list[_Block]:
    out, pos = [], 0
    for m in [*_BLANK.finditer(text), None]:
        end = m.start() if m else len(text)
        chunk = text[pos:end]
        lead = len(chunk) - len(chunk.lstrip())
        body = chunk.strip()
        if body:
            out.append(_Block(pos + lead, pos + lead + len(body), body))
        if m:
            pos = m.end()
    return out


def _is_boilerplate(b: _Block) -> bool:
    lines = [ln for ln in b.text.splitlines() if ln.strip()]
    return bool(lines) and (_BOILERPLATE.match(lines[0]) is not None or all(_BOILERPLATE.match(ln) for ln in lines))


def _is_credit(b: _Block) -> bool:
    lines = [ln for ln in b.text.splitlines() if ln.strip()]
    return bool(lines) and len(b.flat) <= 80 and all(_CREDIT.match(ln) for ln in lines)


def _ends_sentence(s: str) -> bool:
    s = s.rstrip().rstrip(_CLOSERS)
    return bool(s) and s[-1] in _TERMINAL


def _has_content(s: str) -> bool:
    return any(ch.isalnum() for ch in s)


def _is_heading(b: _Block) -> bool:
    flat = b.flat
    if flat.startswith("#"):
        return True
    if len(flat) > HEADING_MAX_CHARS:
        return False
    return not _ends_sentence(flat)


def _continues(prev: _Block, nxt: _Block) -> bool:
    """True when ``nxt`` finishes a sentence that a page break cut off at the end of ``prev``."""
    a, b = prev.text.rstrip(), nxt.text.lstrip()
    if not a or not b or _ends_sentence(a) or _is_heading(nxt):
        return False
    # A cut paragraph already reads as prose: it has inner punctuation; a heading does not.
    if not re.search(r"[，,、：:；;。]", a) or len(prev.flat) < 12:
        return False
    if _CJK.match(a[-1]) and _CJK.match(b[0]):
        return _word_spans(a[-6:], b[:6])
    return a[-1].isalpha() and b[0].islower() or a[-1] == "-" and b[0].isalpha()


def _word_spans(left: str, right: str) -> bool:
    """True when a Chinese word runs across the break (``儿`` + ``童疾病`` makes ``儿童``)."""
    import jieba

    jieba.setLogLevel(60)
    pos = 0
    for word in jieba.cut(left + right, HMM=False):
        if pos < len(left) < pos + len(word):
            return True
        pos += len(word)
    return False


def _glue(a: _Block, b: _Block, sep: str) -> _Block:
    """One block from two: the whitespace between them in the source becomes ``sep``."""
    at = len(a.text) + len(sep)
    dropped = (b.start - a.end) - len(sep)
    joins = a.joins + ((at, dropped),) + tuple((o + at, d) for o, d in b.joins)
    return _Block(a.start, b.end, a.text + sep + b.text, joins)


def _join(blocks: list[_Block], sep: str) -> _Block:
    out = blocks[0]
    for b in blocks[1:]:
        out = _glue(out, b, sep)
    return out


def _join_sep(a: str, b: str) -> str:
    if a.endswith("-"):
        return ""
    return "" if _CJK.match(a[-1]) or _CJK.match(b[0]) else " "


def _key_terms(text: str, n: int = 5) -> list[str]:
    """The words that most set a document apart (TF-IDF), Chinese or not."""
    import jieba.analyse

    jieba.setLogLevel(60)
    return jieba.analyse.extract_tags(text, topK=n)


def split_passages(doc: Document) -> list[Passage]:
    """Paragraphs of a document in order, each with its title and section heading as context."""
    text = doc.text
    seen: set[str] = set()
    blocks: list[_Block] = []
    after_gap: set[int] = set()  # blocks that follow a dropped one: never glued across the gap
    gap = False
    for b in _blocks(text):
        if _is_boilerplate(b) or _is_credit(b) or not _has_content(b.text):
            gap = True
            continue
        key = b.flat
        # A heading seen before is a page header repeated by the layout, not new content.
        if key in seen and _is_heading(b):
            gap = True
            continue
        if gap:
            after_gap.add(b.start)
            gap = False
        seen.add(key)
        blocks.append(b)

    # Glue page-broken sentences back together.
    merged: list[_Block] = []
    for b in blocks:
        if merged and b.start not in after_gap and _continues(merged[-1], b):
            merged[-1] = _glue(merged[-1], b, _join_sep(merged[-1].text, b.text))
        else:
            merged.append(b)

    # Group runs of heading-like blocks: a lone heading is context, a run is a passage of its own.
    units: list[tuple[list[_Block], bool]] = []  # (blocks, is_heading_run)
    for b in merged:
        h = _is_heading(b)
        # A run never spans a dropped block, so its offsets cover only its own text.
        if units and h and units[-1][1] and b.start not in after_gap:
            units[-1][0].append(b)
        else:
            units.append(([b], h))

    title = doc.title.strip()
    if not title and units and units[0][1]:
        title = " ".join(b.flat for b in units[0][0]).lstrip("# ")[:TITLE_MAX_CHARS]
    if len(units) > 3:
        # Passages say "the hospital" where questions name it: the document's key terms name it for them.
        title = f"{title} ({' '.join(_key_terms(text))})".strip()
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    page_offsets = [o for o, _ in doc.pages]

    passages: list[Passage] = []
    section = ""
    for i, (group, heading_run) in enumerate(units):
        followed_by_body = i + 1 < len(units) and not units[i + 1][1]
        if heading_run:
            section = " ".join(b.flat.lstrip("# ") for b in group)[:TITLE_MAX_CHARS]
            if len(group) == 1 and followed_by_body:
                continue
        unit = _join(group, "\n")
        page = None
        if doc.pages:
            k = bisect.bisect_right(page_offsets, unit.start) - 1
            page = doc.pages[max(k, 0)][1]
        passages.append(Passage(
            doc=doc.name,
            paragraph=len(passages) + 1,
            start=unit.start,
            end=unit.end,
            line=bisect.bisect_right(line_starts, unit.start),
            text=unit.text,
            title=title,
            section="" if heading_run else section,
            page=page,
            joins=unit.joins,
        ))
    return passages
