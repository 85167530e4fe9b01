"""HTML pages: the main text without navigation or page chrome, in paragraph-like blocks."""

from __future__ import annotations

import codecs
import re

from qa.documents.base import Document, Unreadable, _has_words, _quiet
from qa.documents.encoding import _BOMS, _checked, decode

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
