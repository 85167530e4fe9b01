"""Readers: formats (text, jsonl, HTML, PDF, docx), encodings, and files that must be skipped with a reason."""

from __future__ import annotations

import codecs
import io
import json
import re
from pathlib import Path

import pytest

from qa.documents import (
    Document,
    Unreadable,
    decode,
    read_docx,
    read_html,
    read_jsonl,
    read_paths,
    read_pdf,
    read_text,
)
from qa.documents.paragraphs import split_passages

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def seed_paragraphs() -> list[str]:
    text = (SEEDS / "000_c13455d065a0bfbb.txt").read_text(encoding="utf-8")
    return [p.strip() for p in re.split(r"\n\s*\n", text) if len(p.strip()) > 40]


def make_pdf(pages: list[list[str]]) -> bytes:
    """A small valid PDF: one page per list, one text line per string (ASCII, Helvetica)."""
    n = len(pages)
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{' '.join(f'{4 + 2 * i} 0 R' for i in range(n))}] /Count {n} >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, lines in enumerate(pages):
        ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
        for ln in lines:
            ops.append("(" + ln.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") Tj T*")
        stream = "\n".join(ops + ["ET"])
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                    f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>")
        objs.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for k, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{k} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def make_docx(build) -> bytes:
    import docx

    d = docx.Document()
    build(d)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


# -- encodings ------------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "utf-16", "utf-16-be-bom", "utf-8-sig", "utf-32"])
def test_chinese_paragraph_round_trips_in_each_encoding(encoding):
    para = next(p for p in seed_paragraphs() if len(p) > 80)
    if encoding == "utf-16-be-bom":
        data = codecs.BOM_UTF16_BE + para.encode("utf-16-be")
    else:
        data = para.encode(encoding)  # utf-16, utf-32 and utf-8-sig write a BOM
    assert decode(data) == para


@pytest.mark.parametrize("encoding", ["big5", "cp950"])
def test_traditional_chinese_paragraph_round_trips_in_big5(encoding):
    import opencc

    to_trad = opencc.OpenCC("s2t")
    para = next(t for t in map(to_trad.convert, seed_paragraphs()) if len(t) > 60 and _encodable(t, "big5"))
    assert decode(para.encode(encoding)) == para


def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


@pytest.mark.parametrize("text,encoding", [
    ("株洲市妇幼保健院。", "gbk"),
    ("党建引领发展", "gb18030"),
    ("工作", "gbk"),
    ("醫院黨委書記", "big5"),
    ("護佑婦幼惠民生", "cp950"),
    ("▲醫院黨委", "big5"),
])
def test_short_chinese_text_is_not_misdetected(text, encoding):
    assert decode(text.encode(encoding)) == text


@pytest.mark.parametrize("text,encoding", [
    ("한국어 텍스트입니다. 서울은 큰 도시입니다.", "euc_kr"),
    ("日本語のテキストです。東京は大きな都市です。", "shift_jis"),
    ("Привет, как дела? Это русский текст.", "cp1251"),
])
def test_other_languages_are_not_forced_into_chinese(text, encoding):
    assert decode(text.encode(encoding)) == text


def test_utf16_without_bom_is_text_not_binary():
    text = "plain ASCII text saved as UTF-16\nwith two lines"
    assert decode(text.encode("utf-16-le")) == text
    assert decode(text.encode("utf-16-be")) == text


def test_line_ends_are_normalized():
    assert decode("第一行\r\n第二行\r第三行".encode("gbk")) == "第一行\n第二行\n第三行"
    assert decode(b"a\r\nb\rc\n") == "a\nb\nc\n"


@pytest.mark.parametrize("data,reason", [
    (b"", "empty file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
    (bytes(range(256)) * 4, "binary"),
    (bytes(range(0x80, 0x100)), "unknown text encoding"),
    (codecs.BOM_UTF16_LE + b"\x00\xd8", "despite its byte-order mark"),
])
def test_bad_bytes_are_unreadable_with_a_reason(data, reason):
    with pytest.raises(Unreadable, match=reason):
        decode(data)


def test_chinese_text_files_of_each_encoding_read_through_read_paths(tmp_path):
    para = seed_paragraphs()[1]
    for enc in ("gb18030", "utf-16", "utf-8-sig"):
        (tmp_path / f"{enc}.txt").write_bytes(para.encode(enc))
    (tmp_path / "gbk.md").write_bytes(("# 标题\n\n" + para).encode("gbk"))
    report = read_paths([tmp_path])
    assert report.skipped == []
    texts = {d.name: d.text for d in report.documents}
    assert texts == {"gb18030.txt": para, "utf-16.txt": para, "utf-8-sig.txt": para, "gbk.md": "# 标题\n\n" + para}


# -- text and jsonl -------------------------------------------------------------------------------

def test_text_without_words_is_unreadable():
    with pytest.raises(Unreadable, match="no text"):
        read_text("  \n。。。\n---\n".encode("utf-8"), "x.txt")


def test_jsonl_keeps_good_records_and_reports_bad_lines():
    lines = [
        json.dumps({"id": "a", "title": "A", "text": "第一篇文章。"}, ensure_ascii=False),
        "{not json",
        json.dumps({"id": "b"}),
        json.dumps({"id": "a", "text": "repeated id"}),
        json.dumps({"id": 7, "text": "number id\r\nsecond line"}),
        json.dumps({"id": "c", "text": "   "}),
        "",
    ]
    problems: list[str] = []
    docs = read_jsonl("\n".join(lines).encode("utf-8"), "c.jsonl", problems)
    assert [(d.name, d.title, d.text) for d in docs] == [("a", "A", "第一篇文章。"), ("7", "", "number id\nsecond line")]
    assert problems[0].startswith("line 2 is not a")
    assert problems[1].startswith("line 3 is not a") and "text" in problems[1]
    assert problems[2] == "line 4 repeats id 'a' (kept the first)"
    assert len(problems) == 3


def test_jsonl_with_no_usable_record_is_unreadable():
    with pytest.raises(Unreadable, match=r"line 1 is not a .*; 1 more bad lines"):
        read_jsonl(b'[1, 2]\n{"title": "x"}\n', "c.jsonl")
    with pytest.raises(Unreadable, match="no records with text"):
        read_jsonl(b'{"id": "a", "text": ""}\n', "c.jsonl")


def test_many_bad_jsonl_lines_are_counted_not_listed():
    data = "\n".join([json.dumps({"id": "ok", "text": "good text"})] + ["oops"] * 20).encode()
    problems: list[str] = []
    read_jsonl(data, "c.jsonl", problems)
    assert len(problems) == 6 and problems[-1] == "15 more bad lines left out"


# -- HTML -----------------------------------------------------------------------------------------

PAGE = """<!DOCTYPE html>
<html><head><title>Spring report - Example site</title>
<style>body {{ color: red }} .navlink {{ }}</style>
<script>var tracking = "SCRIPTTEXT";</script></head>
<body>
<header class="site"><a href="/">Home</a> <a href="/news">NAVHOME</a></header>
<nav><ul><li><a href="/a">NAVMENU one</a></li><li><a href="/b">NAVMENU two</a></li></ul></nav>
<div class="breadcrumbs" role="navigation">ROLENAV crumbs</div>
<main><article>
<header><h1>The spring report</h1></header>
{body}
<ul><li>First item of the list</li><li>Second item of the list</li></ul>
<table><tr><th>City</th><th>Rain</th></tr><tr><td>Zhuzhou</td><td>120 mm</td></tr></table>
<footer>ARTICLEFOOTER share this</footer>
</article></main>
<aside>SIDEBAR related links</aside>
<div hidden>HIDDENTEXT</div>
<footer>PAGEFOOTER copyright 2024</footer>
</body></html>"""

BODY = "\n".join(
    f"<p>Paragraph {i} of the report describes the weather in spring, with rain, wind and sun, "
    f"in enough words that it reads as real prose.<br>It has a second line {i}.</p>"
    for i in range(1, 6)
)


@pytest.mark.parametrize("body", [BODY, "<p>Only one short paragraph here.</p><p>And a second one.</p>"])
def test_html_keeps_main_text_and_drops_navigation(body):
    doc = read_html(PAGE.format(body=body).encode("utf-8"), "page.html")[0]
    for chrome in ("NAVHOME", "NAVMENU", "ROLENAV", "SCRIPTTEXT", "color: red", "SIDEBAR", "HIDDENTEXT",
                   "PAGEFOOTER", "ARTICLEFOOTER", "Example site"):
        assert chrome not in doc.text
    blocks = doc.text.split("\n\n")
    assert blocks[0] == "The spring report"
    assert "First item of the list\nSecond item of the list" in blocks
    assert "City | Rain\nZhuzhou | 120 mm" in blocks
    paras = [b for b in blocks if b.startswith(("Paragraph", "Only", "And"))]
    assert len(paras) == body.count("<p>")
    if body is BODY:
        assert paras[0].endswith("real prose.\nIt has a second line 1.")


def test_html_paragraphs_become_passages():
    doc = read_html(PAGE.format(body=BODY).encode("utf-8"), "page.html")[0]
    passages = split_passages(doc)
    texts = [p.text for p in passages]
    assert sum(t.startswith("Paragraph") for t in texts) == 5
    for p in passages:
        assert doc.text[p.start:p.end].replace("\n", "") == p.text.replace("\n", "")


def test_html_declared_charset_and_wrong_declaration():
    body = "<html><head><meta charset='{}'></head><body><p>株洲市妇幼保健院坚持党建引领。</p><p>第二段。</p></body></html>"
    gbk = read_html(body.format("gb2312").encode("gbk"), "a.html")[0]
    assert gbk.text == "株洲市妇幼保健院坚持党建引领。\n\n第二段。"
    # declared UTF-8 but saved as GBK: the declaration does not fit, so the bytes are detected
    wrong = read_html(body.format("utf-8").encode("gbk"), "b.html")[0]
    assert wrong.text == gbk.text
    utf16 = read_html(body.format("utf-16").encode("utf-8"), "d.html")[0]  # impossible: read as UTF-8
    assert utf16.text == gbk.text
    xml = read_html(b"<?xml version='1.0' encoding='utf-8'?><html><body><p>XHTML text.</p></body></html>", "c.xhtml")
    assert xml[0].text == "XHTML text."


@pytest.mark.parametrize("data,reason", [
    (b"   \n", "no text"),
    (b"<!-- only a comment -->", "no text"),
    (b"<html><body><nav>menu only</nav><script>x()</script></body></html>", "no text"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x00", "binary"),
])
def test_html_without_content_is_unreadable(data, reason):
    with pytest.raises(Unreadable, match=reason):
        read_html(data, "x.html")


# -- PDF ------------------------------------------------------------------------------------------

def test_pdf_text_per_page_with_page_offsets():
    pdf = make_pdf([
        ["Chapter One", "", "The first page talks about apples and", "pears in the orchard."],
        [],  # a page without text: no entry, later offsets still right
        ["The third page is about rivers.", "They flow to the sea."],
    ])
    doc = read_pdf(pdf, "book.pdf")[0]
    assert doc.text == ("Chapter One\nThe first page talks about apples and\npears in the orchard."
                        "\n\nThe third page is about rivers.\nThey flow to the sea.")
    assert doc.pages == ((0, 1), (doc.text.index("The third"), 3))
    passages = split_passages(doc)
    assert [p.page for p in passages] == [1, 3]
    assert passages[-1].text.startswith("The third page") and "page 3" in passages[-1].citation


def test_pdf_page_of_a_passage_follows_its_start():
    pdf = make_pdf([[f"Page {n} has a sentence about topic {n}, and it ends here."] for n in range(1, 5)])
    doc = read_pdf(pdf, "p.pdf")[0]
    for p in split_passages(doc):
        assert p.page == int(re.search(r"topic (\d)", p.text).group(1))


@pytest.mark.parametrize("data,reason", [
    (b"not a pdf at all", "not a readable PDF"),
    (make_pdf([["Some text on the page."]])[:150], "not a readable PDF"),
    (make_pdf([[], []]), "no text in the PDF"),
])
def test_bad_pdfs_are_unreadable(data, reason):
    with pytest.raises(Unreadable, match=reason):
        read_pdf(data, "bad.pdf")


def test_password_protected_pdf_is_unreadable_but_owner_only_password_is_fine():
    from pypdf import PdfReader, PdfWriter

    def encrypted(user: str) -> bytes:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf([["Secret text of the page."]]))))
        writer.encrypt(user_password=user, owner_password="owner", algorithm="RC4-128")
        buf = io.BytesIO()
        writer.write(buf)
        return buf.getvalue()

    with pytest.raises(Unreadable, match="encrypted PDF"):
        read_pdf(encrypted("secret"), "locked.pdf")
    assert read_pdf(encrypted(""), "open.pdf")[0].text == "Secret text of the page."


# -- docx -----------------------------------------------------------------------------------------

def test_docx_paragraphs_and_tables_in_order():
    def build(d):
        d.add_heading("Annual report", 0)
        d.add_paragraph("The first paragraph of the report, long enough to read as prose.")
        d.add_paragraph("")
        d.add_paragraph("   ")
        p = d.add_paragraph("第二段，")
        p.add_run("有两个部分。")
        table = d.add_table(rows=2, cols=2)
        for (r, c), v in {(0, 0): "Name", (0, 1): "Value", (1, 0): "rain", (1, 1): "120"}.items():
            table.cell(r, c).text = v
        d.add_paragraph("After the table.")

    doc = read_docx(make_docx(build), "r.docx")[0]
    first = "The first paragraph of the report, long enough to read as prose."
    assert doc.text == (f"Annual report\n\n{first}\n\n第二段，有两个部分。"
                        "\n\nName | Value\nrain | 120\n\nAfter the table.")
    passages = split_passages(doc)
    assert [p.text for p in passages][:2] == [first, "第二段，有两个部分。"]
    assert passages[0].title.startswith("Annual report")


@pytest.mark.parametrize("data,reason", [
    (b"not a zip", "not a readable .docx"),
    (b"PK\x03\x04" + b"\x00" * 40, "not a readable .docx"),
])
def test_bad_docx_is_unreadable(data, reason):
    with pytest.raises(Unreadable, match=reason):
        read_docx(data, "bad.docx")


def test_docx_without_text_is_unreadable():
    with pytest.raises(Unreadable, match="no text"):
        read_docx(make_docx(lambda d: d.add_paragraph("")), "empty.docx")


# -- read_paths: what is read, what is skipped and why --------------------------------------------

def test_read_paths_reads_every_format_and_skips_bad_files_with_reasons(tmp_path):
    good = tmp_path / "corpus"
    (good / "sub").mkdir(parents=True)
    (good / "a.txt").write_text("纯文本文件。", encoding="utf-8")
    (good / "sub" / "b.md").write_bytes("# 标题\n\n正文。".encode("gbk"))
    (good / "c.html").write_text("<html><body><p>HTML text here.</p></body></html>", encoding="utf-8")
    (good / "d.pdf").write_bytes(make_pdf([["PDF text here."]]))
    (good / "e.docx").write_bytes(make_docx(lambda d: d.add_paragraph("Word text here.")))
    (good / "f.jsonl").write_text(json.dumps({"id": "rec1", "text": "Record text."}) + "\n", encoding="utf-8")
    (good / ".hidden.txt").write_text("hidden", encoding="utf-8")
    (good / ".git").mkdir()
    (good / ".git" / "x.txt").write_text("hidden", encoding="utf-8")
    (good / "Makefile").write_text("all:", encoding="utf-8")  # no suffix inside a folder: not a document
    (good / "empty.txt").write_bytes(b"")
    (good / "binary.txt").write_bytes(b"\x00\x01\x02\x03" * 100)
    (good / "undecodable.md").write_bytes(bytes(range(0x80, 0x100)))
    (good / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0")
    (good / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    (good / "image.png").write_bytes(b"\x89PNG")
    missing = tmp_path / "missing.txt"

    report = read_paths([good, missing])
    assert sorted(d.name for d in report.documents) == ["a.txt", "c.html", "d.pdf", "e.docx", "rec1", "sub/b.md"]
    assert sorted(s.name for s in report.sources) == ["a.txt", "c.html", "d.pdf", "e.docx", "f.jsonl", "sub/b.md"]
    reasons = {Path(p).name: r for p, r in report.skipped}
    assert reasons == {
        "empty.txt": "empty file",
        "binary.txt": "binary file, not text",
        "undecodable.md": "unknown text encoding: save the file as UTF-8",
        "old.doc": "unsupported format '.doc': save it as .docx",
        "broken.pdf": reasons["broken.pdf"],
        "image.png": "unsupported format '.png'",
        "missing.txt": "no such file or folder",
    }
    assert reasons["broken.pdf"].startswith("not a readable PDF")
    assert all("\n" not in r for r in reasons.values())
    src = {s.name: s for s in report.sources}
    assert src["a.txt"].size == len("纯文本文件。".encode()) and len(src["a.txt"].sha256) == 64


def test_read_paths_named_file_with_unknown_suffix_is_reported(tmp_path):
    f = tmp_path / "README"
    f.write_text("text", encoding="utf-8")
    assert read_paths([f]).skipped == [(str(f), "unsupported format 'README'")]


def test_read_paths_empty_folder_and_special_file(tmp_path):
    (tmp_path / "empty").mkdir()
    report = read_paths([tmp_path / "empty", Path("/dev/null")])
    assert report.documents == []
    assert report.skipped == [(str(tmp_path / "empty"), "no files in folder"), ("/dev/null", "not a regular file")]


def test_read_paths_reads_a_file_listed_twice_once(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("一段文字。", encoding="utf-8")
    report = read_paths([f, tmp_path, f])
    assert [d.name for d in report.documents] == ["a.txt"]
    assert report.skipped == [(str(f), "listed twice (read once)")]


def test_read_paths_keeps_documents_with_the_same_name_apart(tmp_path):
    for folder, text in (("one", "第一个。"), ("two", "第二个。")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "notes.txt").write_text(text, encoding="utf-8")
        (tmp_path / folder / "c.jsonl").write_text(json.dumps({"id": "r", "text": text}), encoding="utf-8")
    report = read_paths([tmp_path / "one", tmp_path / "two"])
    names = [d.name for d in report.documents]
    assert names == ["r", "notes.txt", "c.jsonl#r", "two/notes.txt"]
    assert len(set(names)) == len(names) and report.skipped == []


def test_read_paths_survives_a_reader_that_crashes(tmp_path, monkeypatch):
    from qa import documents as readers

    def boom(data, name, problems):
        raise RuntimeError("reader bug\nwith two lines")

    monkeypatch.setitem(readers.READERS, ".txt", boom)
    (tmp_path / "a.txt").write_text("x", encoding="utf-8")
    (tmp_path / "b.md").write_text("正文。", encoding="utf-8")
    report = read_paths([tmp_path])
    assert [d.name for d in report.documents] == ["b.md"]
    assert report.skipped == [(str(tmp_path / "a.txt"), "could not be read (RuntimeError: reader bug)")]


def test_read_paths_reports_jsonl_bad_lines_as_skipped(tmp_path):
    f = tmp_path / "c.jsonl"
    f.write_text('{"id": "a", "text": "good"}\nbroken\n', encoding="utf-8")
    report = read_paths([f])
    assert [d.name for d in report.documents] == ["a"]
    assert report.skipped == [(str(f), "line 2 is not a {\"id\", \"title\", \"text\"} record "
                                       "(Expecting value: line 1 column 1 (char 0))")]


def test_document_offsets_refer_to_decoded_text(tmp_path):
    f = tmp_path / "crlf.txt"
    f.write_bytes("标题\r\n\r\n第一段文字，很长的一段。\r\n\r\n第二段文字，也很长。\r\n".encode("gb18030"))
    doc = read_paths([f]).documents[0]
    assert isinstance(doc, Document) and "\r" not in doc.text
    for p in split_passages(doc):
        assert doc.text[p.start:p.end] == p.text
        assert p.line == doc.text.count("\n", 0, p.start) + 1
