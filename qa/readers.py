"""Turns files on disk into decoded documents: finds the files, detects encodings, reads each format.

Every reader takes the file's bytes and returns documents, or raises ``Unreadable`` with a one-line
reason; ``read_paths`` turns that into a skipped entry, so one bad file never stops a whole build.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import io
import json
import logging
import os
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
# Formats people try that have no reader, with what to do instead.
CONVERT_HINTS = {
    ".doc": "save it as .docx",
    ".rtf": "save it as .docx or .txt",
    ".odt": "save it as .docx",
    ".pages": "export it as .docx",
    ".ppt": "export it as .pdf",
    ".pptx": "export it as .pdf",
    ".xls": "export it as .csv or .txt",
    ".xlsx": "export it as .csv or .txt",
    ".epub": "convert it to .html or .txt",
    ".json": "write it as .jsonl, one {\"id\", \"title\", \"text\"} record a line",
}
MAX_LINE_PROBLEMS = 5  # bad jsonl lines reported one by one; the rest are counted


@dataclass(frozen=True)
class Document:
    """Decoded text of one document; offsets in citations refer to ``text``."""

    name: str
    text: str
    title: str = ""
    # (offset, page number) pairs, ascending, for formats that have pages
    pages: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class SourceFile:
    """A file that was read, with the checksum the index manifest records."""

    path: Path
    name: str
    sha256: str
    size: int


@dataclass
class ReadReport:
    """What reading a set of paths produced, and what it had to skip and why."""

    documents: list[Document] = field(default_factory=list)
    sources: list[SourceFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


class Unreadable(Exception):
    """A file that cannot be turned into text; the message says why."""


# -- decoding -------------------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: its BOM starts with UTF-16 LE's
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Tried before general detection: short GBK/Big5 texts are where detectors guess wrong.
_CHINESE_ENCODINGS = ("gb18030", "cp950", "big5hkscs")
_CHINESE_MIN_SCORE = 0.6
_CHINESE_OVER_UTF8 = 0.9  # bytes that are valid UTF-8 as well need a clearer case
_HANZI = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_CJK_CHAR = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0003ffff]")
_SCORE_SAMPLE = 4000  # non-ASCII characters looked at when scoring a decoding
# Punctuation and symbols Chinese text uses: they count for a decoding, like frequent characters.
_CJK_NEUTRAL = ((0x2010, 0x205E), (0x2460, 0x24FF), (0x25A0, 0x25FF), (0x3000, 0x303F), (0xFF01, 0xFF5E))


def decode(data: bytes) -> str:
    """Decode bytes as text: BOMs first, then UTF-8, then Chinese encodings, then charset detection.

    Raises ``Unreadable`` for empty, binary or undecodable data. Line ends come back as ``\\n``.
    """
    if not data:
        raise Unreadable("empty file")
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(enc)
            except UnicodeDecodeError as e:
                raise Unreadable(f"not valid {enc.removesuffix('-sig').upper()} despite its byte-order mark") from e
            return _checked(text)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = _detect(data)
    else:
        if "\x00" in text:  # ASCII text in UTF-16 is valid UTF-8 too, with a zero in every other byte
            text = _utf16_without_bom(data) or text
        elif not text.isascii() and _odd_utf8(text):
            # a few GBK characters can form valid UTF-8 too ("为时" reads as "Ϊʱ")
            text = _chinese(data, _CHINESE_OVER_UTF8, min_hanzi=2) or text
    return _checked(text)


def _checked(text: str) -> str:
    if "\x00" in text or _control_ratio(text) > 0.05:
        raise Unreadable("binary file, not text")
    return _clean(text)


def _detect(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        text = _utf16_without_bom(data)
        if text is None:
            raise Unreadable("binary file, not text")
        return text
    if _control_ratio(data[:8192].decode("latin-1")) > 0.05:
        raise Unreadable("binary file, not text")
    if _looks_korean(data):
        return data.decode("cp949")
    text = _chinese(data)
    if text is not None:
        return text
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise Unreadable("unknown text encoding: save the file as UTF-8")
    return str(best)


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text without a byte-order mark: mostly-ASCII text has a zero in every other byte."""
    if len(data) < 4 or len(data) % 2:
        return None
    sample = data[:4096]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd >= 0.3 * half and even == 0:
        enc = "utf-16-le"
    elif even >= 0.3 * half and odd == 0:
        enc = "utf-16-be"
    else:
        return None
    try:
        text = data.decode(enc)
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text or _control_ratio(text) > 0.05 else text


@lru_cache(maxsize=1)
def _common_hanzi() -> tuple[frozenset[str], frozenset[str]]:
    """The frequent Chinese characters: GB2312 level 1 (simplified), Big5 level 1 (traditional)."""
    simplified: set[str] = set()
    traditional: set[str] = set()
    for lead in range(0xB0, 0xD8):
        for trail in range(0xA1, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):
                simplified.add(bytes((lead, trail)).decode("gb2312"))
    for code in range(0xA440, 0xC67F):
        lead, trail = divmod(code, 256)
        if 0x40 <= trail <= 0x7E or 0xA1 <= trail <= 0xFE:
            with contextlib.suppress(UnicodeDecodeError):
                traditional.add(bytes((lead, trail)).decode("big5"))
    return frozenset(simplified), frozenset(traditional)


def _chinese_score(text: str, encoding: str) -> tuple[float, float]:
    """How much of the non-ASCII text is frequent Chinese characters and CJK punctuation.

    Returns (share of frequent characters of either kind, the same share counting frequent
    characters of the other kind half): the first says whether it reads as Chinese at all, the
    second which decoding reads better, since the wrong one of GBK and Big5 often gives frequent
    characters too, but a mix of simplified and traditional ones.
    """
    simplified, traditional = _common_hanzi()
    native, other = (simplified, traditional) if encoding == "gb18030" else (traditional, simplified)
    n = hits = weighted = 0.0
    for ch in text:
        o = ord(ch)
        if o < 128:
            continue
        n += 1
        if ch in native or ch in "“”‘’…—·" or any(lo <= o <= hi for lo, hi in _CJK_NEUTRAL):
            hits += 1
            weighted += 1
        elif ch in other:
            hits += 1
            weighted += 0.5
        if n >= _SCORE_SAMPLE:
            break
    return (hits / n, weighted / n) if n else (0.0, 0.0)


# The most frequent Hangul syllables: they make up much of any Korean text, and little of Chinese
# bytes read as EUC-KR (which GB2312 bytes are, too).
_FREQUENT_HANGUL = frozenset(
    "이다는의에을를하고서가지기한로리사수대도인있것시자들으어게나구정보전해장부국주아과니여일동러요라우"
    "세소성제적습학람중문만면후그저내말원없같안녕까지했던되었위상경회연계개발은입스트용음분실간관"
)


def _looks_korean(data: bytes) -> bool:
    """EUC-KR Hangul is valid GB2312 as well: Korean if it reads as Hangul with Korean's usual syllables."""
    try:
        text = data.decode("cp949")
    except UnicodeDecodeError:
        return False
    hangul = [ch for ch in text[:20000] if "\uac00" <= ch <= "\ud7a3"]
    if not hangul or len(hangul) < 0.9 * sum(1 for ch in text[:20000] if ord(ch) > 127):
        return False
    frequent = sum(ch in _FREQUENT_HANGUL for ch in hangul)
    return frequent >= 3 and frequent >= 0.35 * len(hangul)


def _odd_utf8(text: str) -> bool:
    """True for UTF-8 text no one writes: no Chinese, but letters of two scripts, or stray marks."""
    import unicodedata

    scripts: set[str] = set()
    seen = 0
    for ch in text:
        if ch.isascii():
            continue
        if _CJK_CHAR.match(ch):
            return False
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Co", "Lm"):  # C1 controls, private use, modifier letters
            return True
        if cat.startswith("L"):
            scripts.add(unicodedata.name(ch, "?").split(" ")[0])
        seen += 1
        if seen >= _SCORE_SAMPLE:
            break
    return len(scripts) > 1


def _chinese(data: bytes, min_score: float = _CHINESE_MIN_SCORE, min_hanzi: int = 0) -> str | None:
    """The Chinese decoding of ``data`` if it is valid in one and reads as Chinese, else None."""
    best: tuple[float, str] | None = None
    for enc in _CHINESE_ENCODINGS:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if min_hanzi and len(_HANZI.findall(text, 0, 4 * min_hanzi + 64)) < min_hanzi:
            continue
        share, score = _chinese_score(text, enc)
        if share >= min_score and (best is None or score > best[0]):
            best = (score, text)
    if best is None or _looks_korean(data):
        return None
    return best[1]


def _control_ratio(text: str) -> float:
    sample = text[:8192]
    if not sample:
        return 0.0
    bad = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
    return bad / len(sample)


def _clean(text: str) -> str:
    # Offsets are defined on text with normalized line ends, so a CRLF file cites like an LF one.
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")


def _has_words(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


# -- readers: (bytes, document name, problems) -> documents ---------------------------------------

Reader = Callable[[bytes, str, list[str]], list[Document]]


def read_text(data: bytes, name: str, problems: list[str] | None = None) -> list[Document]:
    """A plain-text or Markdown file: one document, the decoded text as it is."""
    text = decode(data)
    if not _has_words(text):
        raise Unreadable("no text in file")
    return [Document(name=name, text=text)]


def read_jsonl(data: bytes, name: str, problems: list[str] | None = None) -> list[Document]:
    """A corpus file: each line ``{"id", "title", "text"}``; the id names the document.

    Bad lines and repeated ids are left out and reported in ``problems``; the file is unreadable
    only when no record is usable.
    """
    problems = problems if problems is not None else []
    docs: list[Document] = []
    seen: set[str] = set()
    bad: list[str] = []
    for lineno, line in enumerate(decode(data).split("\n"), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise TypeError("not an object")
            doc_id, body = rec["id"], rec["text"]
            if not isinstance(doc_id, (str, int)) or isinstance(doc_id, bool) or not str(doc_id).strip():
                raise TypeError("id is not a string or number")
            if not isinstance(body, str):
                raise TypeError("text is not a string")
        except (ValueError, KeyError, TypeError) as e:
            why = f"missing {e}" if isinstance(e, KeyError) else str(e).split("\n")[0]
            bad.append(f"line {lineno} is not a {{\"id\", \"title\", \"text\"}} record ({why})")
            continue
        doc_id = str(doc_id)
        if doc_id in seen:
            bad.append(f"line {lineno} repeats id '{doc_id}' (kept the first)")
            continue
        seen.add(doc_id)
        body = _clean(body)
        if _has_words(body):
            title = rec.get("title")
            docs.append(Document(name=doc_id, text=body, title=title.strip() if isinstance(title, str) else ""))
    if not docs:
        if bad and not seen:
            raise Unreadable(bad[0] + (f"; {len(bad) - 1} more bad lines" if len(bad) > 1 else ""))
        raise Unreadable("no records with text")
    problems.extend(bad[:MAX_LINE_PROBLEMS])
    if len(bad) > MAX_LINE_PROBLEMS:
        problems.append(f"{len(bad) - MAX_LINE_PROBLEMS} more bad lines left out")
    return docs


# HTML: navigation, page chrome and scripts are never content.
_HTML_DROP = ("script", "style", "noscript", "template", "nav", "aside", "form", "iframe", "svg",
              "canvas", "button", "select", "dialog", "object", "embed", "head")
_HTML_DROP_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar"}
_HTML_BLOCK = {"p", "div", "section", "article", "main", "body", "html", "header", "footer", "h1", "h2", "h3",
               "h4", "h5", "h6", "blockquote", "pre", "figure", "figcaption", "caption", "address", "center",
               "details", "summary", "hr", "fieldset", "legend"}
_HTML_LISTS = {"ul", "ol", "dl", "table", "menu"}
_HTML_ITEMS = {"li", "dt", "dd", "tr"}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([-\w:.]+)""", re.IGNORECASE)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_SPACES = re.compile(r"[ \t\n\r\f\v]+")
# Labels browsers read as a wider encoding than their name says.
# A <meta> readable as ASCII means the page is not UTF-16, whatever it says.
_WIDER = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "big5": "cp950", "iso-8859-1": "cp1252",
          "latin1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252", "utf-16": "utf-8", "utf-16le": "utf-8",
          "utf-16be": "utf-8"}


def _html_source(data: bytes) -> str:
    """HTML bytes as text: a BOM, then a declared charset that really fits, then detection."""
    if not any(data.startswith(bom) for bom, _ in _BOMS):
        m = _META_CHARSET.search(data[:4096])
        if m:
            label = m.group(1).decode("ascii", "replace").lower()
            try:
                enc = codecs.lookup(_WIDER.get(label, label)).name
                return _checked(data.decode(enc))
            except (LookupError, UnicodeDecodeError, Unreadable):
                pass  # a wrong declaration: detect instead
    return decode(data)


def _inline_text(el) -> str:
    """Text of an element with ``<br>`` and inner blocks as line breaks and other markup ignored."""
    raw = el.tag in ("pre", "code")
    parts: list[str] = []

    def text(t: str | None) -> None:
        if t:
            parts.append(t if raw else _SPACES.sub(" ", t))

    def walk(e) -> None:
        if not isinstance(e.tag, str):  # comment or processing instruction
            return
        block = e is not el and (e.tag in _HTML_BLOCK or e.tag in _HTML_ITEMS or e.tag in _HTML_LISTS)
        if block or e.tag in ("br", "lb"):
            parts.append("\n")
        text(e.text)
        for child in e:
            walk(child)
            text(child.tail)
        if e.tag in ("td", "th", "cell"):
            parts.append(" | ")
        elif block:
            parts.append("\n")

    walk(el)
    return _tidy("".join(parts), keep_spaces=raw)


def _tidy(text: str, keep_spaces: bool = False) -> str:
    lines = []
    for line in text.split("\n"):
        line = line.rstrip() if keep_spaces else line.replace("\xa0", " ").strip(" |\t")
        if line.strip():
            lines.append(line if keep_spaces else re.sub(r" {2,}", " ", line))
    return "\n".join(lines)


def _items(container, items: set[str], lists: set[str]) -> list:
    """The items of a list or rows of a table, not those of lists nested in them."""
    out = []
    for e in container.iter(*items):
        owner = next((a for a in e.iterancestors() if a.tag in lists), None)
        if owner is container:
            out.append(e)
    return out


def _html_blocks(root) -> list[str]:
    """Paragraph-like blocks of a cleaned HTML tree, in document order."""
    blocks: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        text = _tidy("".join(pending))
        pending.clear()
        if text:
            blocks.append(text)

    def walk(e) -> None:
        if not isinstance(e.tag, str):  # comment or processing instruction
            return
        tag = e.tag.lower()
        if tag in _HTML_LISTS or tag in ("pre",):
            flush()
            if tag == "pre":
                text = _inline_text(e)
            else:
                items = [_inline_text(i) for i in _items(e, _HTML_ITEMS, _HTML_LISTS)] or [_inline_text(e)]
                text = "\n".join(t.replace("\n", " ") for t in items if t)
            if text:
                blocks.append(text)
            return
        if tag in _HTML_BLOCK:
            flush()
        if tag == "br":
            pending.append("\n")
        elif e.text:
            pending.append(_SPACES.sub(" ", e.text))
        for child in e:
            walk(child)
            if child.tail:
                pending.append(_SPACES.sub(" ", child.tail))
        if tag in _HTML_BLOCK:
            flush()

    walk(root)
    flush()
    return blocks


def _strip_chrome(root) -> None:
    """Remove navigation, page header and footer, sidebars, scripts and hidden parts."""
    doomed = []
    for e in root.iter():
        if not isinstance(e.tag, str):
            continue
        tag = e.tag.lower()
        role = (e.get("role") or "").lower()
        style = (e.get("style") or "").replace(" ", "").lower()
        if (tag in _HTML_DROP or role in _HTML_DROP_ROLES or e.get("hidden") is not None
                or e.get("aria-hidden") == "true" or "display:none" in style):
            doomed.append(e)
        elif tag in ("header", "footer"):
            # an article's own header holds its title; the page's header and footer are chrome
            inside = any(a.tag in ("article", "main") for a in e.iterancestors())
            if tag == "footer" or not inside:
                doomed.append(e)
    for e in doomed:
        if e.getparent() is not None:
            e.drop_tree()  # keeps the tail text that follows the element


def _trafilatura_blocks(root) -> list[str] | None:
    """The main text as trafilatura sees it, one block per paragraph, heading, list or table."""
    import trafilatura
    from lxml import etree

    with _quiet("trafilatura", "htmldate", "courlan"):
        xml = trafilatura.extract(root, output_format="xml", include_comments=False, include_tables=True,
                                  include_images=False, favor_recall=True, deduplicate=False)
    if not xml:
        return None
    doc = etree.fromstring(xml.encode("utf-8"))
    main = doc.find("main")
    if main is None:
        return None
    blocks = []
    for e in main:
        if e.tag in ("list", "table"):
            items = [_inline_text(i) for i in _items(e, {"item", "row"}, {"list", "table"})] or [_inline_text(e)]
            text = "\n".join(t.replace("\n", " ") for t in items if t)
        else:
            text = _inline_text(e)
        if text:
            blocks.append(text)
    return blocks


def read_html(data: bytes, name: str, problems: list[str] | None = None) -> list[Document]:
    """An HTML page: its main text without navigation or page chrome, paragraphs split by blank lines."""
    try:
        import lxml.html
        from lxml import etree
    except ImportError as e:  # pragma: no cover - trafilatura brings lxml
        raise Unreadable("reading HTML needs the trafilatura package: pip install trafilatura") from e
    source = _XML_DECL.sub("", _html_source(data), count=1)
    if not source.strip():
        raise Unreadable("no text in file")
    try:
        root = lxml.html.document_fromstring(source)
    except etree.ParserError as e:  # lxml's "Document is empty": only comments or markup
        raise Unreadable("no text in the page") from e
    except ValueError as e:
        raise Unreadable(f"not readable as HTML ({e})") from e
    _strip_chrome(root)
    own = _html_blocks(root)
    try:
        main = _trafilatura_blocks(root)
    except ImportError as e:
        raise Unreadable("reading HTML needs the trafilatura package: pip install trafilatura") from e
    except Exception:  # trafilatura's own trouble with odd markup: the plain blocks are still good
        main = None
    # On short pages trafilatura falls back to one run of text; the plain blocks keep the paragraphs.
    if not main or (len(main) < len(own) and sum(map(len, main)) >= 0.9 * sum(map(len, own))):
        main = own
    text = "\n\n".join(main)
    if not _has_words(text):
        raise Unreadable("no text in the page")
    return [Document(name=name, text=text)]


@contextlib.contextmanager
def _quiet(*loggers: str) -> Iterator[None]:
    """Silence a library's own logging and warnings while it reads a damaged file."""
    saved = [(logging.getLogger(n), logging.getLogger(n).level) for n in loggers]
    for lg, _ in saved:
        lg.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in saved:
            lg.setLevel(level)


def _page_text(text: str) -> str:
    text = _clean(text).replace("\x00", "")
    text = "".join(ch for ch in text if ord(ch) >= 32 or ch in "\n\t")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def read_pdf(data: bytes, name: str, problems: list[str] | None = None) -> list[Document]:
    """A PDF with a text layer: the text of each page, pages split by blank lines, pages recorded."""
    try:
        from pypdf import PdfReader
    except ImportError as e:
        raise Unreadable("reading PDF needs the pypdf package: pip install pypdf") from e
    problems = problems if problems is not None else []
    parts: list[str] = []
    pages: list[tuple[int, int]] = []
    offset = 0
    with _quiet("pypdf"):
        try:
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                try:
                    opened = reader.decrypt("")
                except Exception as e:  # noqa: BLE001 - pypdf raises many kinds here
                    raise Unreadable(f"encrypted PDF ({e}): save a copy without a password") from e
                if not opened:
                    raise Unreadable("encrypted PDF: save a copy without a password")
            count = len(reader.pages)
        except Unreadable:
            raise
        except Exception as e:  # noqa: BLE001 - a damaged PDF fails in many ways inside pypdf
            raise Unreadable(f"not a readable PDF ({type(e).__name__})") from e
        for number in range(1, count + 1):
            try:
                text = _page_text(reader.pages[number - 1].extract_text() or "")
            except Exception as e:  # noqa: BLE001
                problems.append(f"page {number} left out: its text could not be extracted ({type(e).__name__})")
                continue
            if not _has_words(text):
                continue
            if parts:
                offset += 2  # the blank line between pages
            pages.append((offset, number))
            parts.append(text)
            offset += len(text)
    if not parts:
        raise Unreadable("no text in the PDF (scanned pages need OCR first)")
    return [Document(name=name, text="\n\n".join(parts), pages=tuple(pages))]


def read_docx(data: bytes, name: str, problems: list[str] | None = None) -> list[Document]:
    """A Word .docx file: its paragraphs and tables in order, split by blank lines."""
    try:
        import docx
        from docx.table import Table
    except ImportError as e:
        raise Unreadable("reading .docx needs the python-docx package: pip install python-docx") from e
    blocks: list[str] = []
    try:
        document = docx.Document(io.BytesIO(data))
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                rows = []
                for row in item.rows:
                    cells: list[str] = []
                    for cell in row.cells:  # a merged cell comes back once per column it spans
                        t = re.sub(r"\s+", " ", cell.text).strip()
                        if t and (not cells or cells[-1] != t):
                            cells.append(t)
                    if cells:
                        rows.append(" | ".join(cells))
                text = "\n".join(rows)
            else:
                text = "\n".join(line.strip() for line in _clean(item.text).split("\n") if line.strip())
            if text:
                blocks.append(text)
    except Exception as e:  # noqa: BLE001 - a damaged package fails in many ways inside python-docx
        raise Unreadable(f"not a readable .docx file ({type(e).__name__})") from e
    text = "\n\n".join(blocks)
    if not _has_words(text):
        raise Unreadable("no text in the document")
    return [Document(name=name, text=text)]


READERS: dict[str, Reader] = {
    **{s: read_text for s in TEXT_SUFFIXES},
    **{s: read_html for s in HTML_SUFFIXES},
    ".jsonl": read_jsonl,
    ".pdf": read_pdf,
    ".docx": read_docx,
}


# -- finding and reading files --------------------------------------------------------------------

def find_files(root: Path, skipped: list[tuple[str, str]] | None = None) -> list[Path]:
    """All files under a folder, in a stable order; hidden files and folders are left out.

    Folders that cannot be listed are added to ``skipped``; links to folders are not followed.
    """
    found: list[Path] = []

    def unreadable(e: OSError) -> None:
        if skipped is not None:
            skipped.append((str(e.filename or root), f"cannot list folder: {e.strerror or e}"))

    for folder, dirs, files in os.walk(root, onerror=unreadable):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in files:
            path = Path(folder, f)
            if not f.startswith(".") and path.is_file():
                found.append(path)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _unsupported(path: Path) -> str:
    suffix = path.suffix.lower()
    hint = CONVERT_HINTS.get(suffix)
    return f"unsupported format '{path.suffix or path.name}'" + (f": {hint}" if hint else "")


def _unique(name: str, source: str, base: Path, path: Path, taken: set[str]) -> str | None:
    """``name``, or a longer one naming the file when another document already has it."""
    if name not in taken:
        return name
    if name == source:  # a whole file: name it by its folder too
        candidates = [f"{base.resolve().name}/{source}", path.resolve().as_posix()]
    else:  # a record of a corpus file: name it by the file
        candidates = [f"{source}#{name}", f"{base.resolve().name}/{source}#{name}"]
    return next((c for c in candidates if c not in taken), None)


def read_paths(paths: list[Path]) -> ReadReport:
    """Read files and folders (recursively); unreadable files are skipped with a one-line reason.

    A file listed twice is read once. Two documents with the same name (``a/x.txt`` and
    ``b/x.txt`` given as two folders) keep apart: the second is named by its folder.
    """
    report = ReadReport()
    read: set[Path] = set()
    names: set[str] = set()
    for root in paths:
        root = Path(root)
        try:
            is_dir = root.is_dir()
            exists = is_dir or root.exists()
        except OSError as e:
            report.skipped.append((str(root), f"cannot access: {e.strerror or e}"))
            continue
        if not exists:
            report.skipped.append((str(root), "no such file or folder"))
            continue
        if is_dir:
            files, base = find_files(root, report.skipped), root
            if not files:
                report.skipped.append((str(root), "no files in folder"))
        elif not root.is_file():
            report.skipped.append((str(root), "not a regular file"))
            continue
        else:
            files, base = [root], root.parent
        for path in files:
            reader = READERS.get(path.suffix.lower())
            if reader is None:
                if not is_dir or path.suffix:
                    report.skipped.append((str(path), _unsupported(path)))
                continue
            real = path.resolve()
            if real in read:
                if not is_dir:
                    report.skipped.append((str(path), "listed twice (read once)"))
                continue
            read.add(real)
            problems: list[str] = []
            source = path.relative_to(base).as_posix()
            try:
                data = path.read_bytes()
                if not data:
                    raise Unreadable("empty file")
                docs = reader(data, source, problems)
            except Unreadable as e:
                report.skipped.append((str(path), str(e)))
                continue
            except OSError as e:
                report.skipped.append((str(path), f"cannot read: {e.strerror or e}"))
                continue
            except RecursionError:
                report.skipped.append((str(path), "too deeply nested to read"))
                continue
            except Exception as e:  # noqa: BLE001 - one odd file must not stop the whole build
                first = str(e).strip().split("\n")[0][:200]
                report.skipped.append((str(path), f"could not be read ({type(e).__name__}: {first})"))
                continue
            report.skipped.extend((str(path), p) for p in problems)
            kept = []
            for doc in docs:
                unique = _unique(doc.name, source, base, path, names)
                if unique is None:
                    report.skipped.append((str(path), f"a document named '{doc.name}' was already read"))
                    continue
                names.add(unique)
                kept.append(doc if unique == doc.name else Document(unique, doc.text, doc.title, doc.pages))
            if not kept:
                continue
            report.documents.extend(kept)
            report.sources.append(SourceFile(path=path, name=source,
                                             sha256=hashlib.sha256(data).hexdigest(), size=len(data)))
    return report
