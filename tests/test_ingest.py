"""Paragraph splitting on the real seeds: offsets, lines, page-break joins, headings and boilerplate."""

import json
import re
from pathlib import Path

import pytest

from qa.documents import read_paths
from qa.documents.paragraphs import split_passages

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def squash(s: str) -> str:
    return re.sub(r"\s", "", s)


@pytest.fixture(scope="module")
def seeds():
    report = read_paths([SEEDS])
    assert not report.skipped
    return {d.name: (d, split_passages(d)) for d in report.documents}


def test_every_seed_is_read_and_split(seeds):
    assert sorted(seeds) == sorted(p.name for p in SEEDS.glob("*.txt"))
    for doc, passages in seeds.values():
        assert len(passages) > 20
        assert [p.paragraph for p in passages] == list(range(1, len(passages) + 1))
        assert [p.start for p in passages] == sorted(p.start for p in passages)


def test_offsets_and_lines_round_trip_on_all_seeds(seeds):
    for doc, passages in seeds.values():
        for p in passages:
            source = doc.text[p.start:p.end]
            if p.joins:
                assert squash(source) == squash(p.text)
            else:
                assert source == p.text
            assert p.line == doc.text.count("\n", 0, p.start) + 1
            assert p.source_offset(len(p.text), end=True) == p.end


@pytest.mark.parametrize("doc,joined,left,right", [
    ("002_af8fc51bc6101226.txt", "儿童疾病", "、儿", "童疾病"),
    ("001_ed392a6b11019413.txt", "对技术优势明显", "对技", "术优势明显"),
    ("002_af8fc51bc6101226.txt", "株洲市中心医院关节外科", "株洲市中心医", "院关节外科"),
])
def test_page_broken_sentences_are_joined(seeds, doc, joined, left, right):
    text, passages = seeds[doc][0].text, seeds[doc][1]
    # the source really has the break
    m = re.search(re.escape(left) + r"\s*\n\s*\n\s*" + re.escape(right), text)
    assert joined not in text and m
    [p] = [p for p in passages if joined in p.text]
    assert p.joins, "the passage should record where it was joined"
    cut = m.start() + len(left)
    assert p.start < cut < p.end, "the citation must span both pieces"


def test_repeated_page_header_and_boilerplate_are_not_passages(seeds):
    doc, passages = seeds["003_43e5422389ba98aa.txt"]
    header = "党旗增辉一医为民——荆州一医强化党建品牌建设助推医院高质量发展纪实"
    assert doc.text.count(header) >= 5
    assert not any(header in p.text for p in passages)
    assert all(p.title.startswith(header) for p in passages)
    for junk in ("版权声明", "上一篇", "下一篇", "相关推荐"):
        assert junk in doc.text
        assert not any(junk in p.text for p in passages)


@pytest.mark.parametrize("doc,credit,last_before", [
    ("002_af8fc51bc6101226.txt", "供图/株洲市中心医院", "逐梦前行,只争朝夕。"),  # a credit after the last paragraph
    ("000_c13455d065a0bfbb.txt", "文/刘琼 戴友清 供图/株洲市妇幼保健院", None),  # a byline under the title
    ("003_43e5422389ba98aa.txt", "来源:荆州日报", None),
])
def test_credits_are_not_passages_nor_parts_of_one(seeds, doc, credit, last_before):
    d, passages = seeds[doc]
    assert credit in d.text
    assert not [p.paragraph for p in passages if credit in p.text]
    if last_before:
        assert passages[-1].text.startswith(last_before)


def test_credit_lines_are_told_from_prose():
    from qa.documents.paragraphs import _CREDIT

    for credit in ["(供图/株洲市中心医院)", "责任编辑:李卉", "记者匡奕君 卢成海 特约记者杜川 通讯员徐智", "Photo: Jane Doe",
                   "(Photo by Reuters)"]:
        assert _CREDIT.match(credit), credit
    for prose in ["第一党支部书记孙卫萍将爱心款送给患儿家属。", "文化建设", "图书馆开放时间：每天9点", "Source code is on GitHub",
                  "作者简介：张三，1970年生"]:
        assert not _CREDIT.match(prose), prose


def test_headings_are_context_not_passages(seeds):
    doc, passages = seeds["000_c13455d065a0bfbb.txt"]
    heading = "党建引领 点燃发展“引擎”"
    assert not any(p.text == heading for p in passages)
    [p] = [p for p in passages if p.text.startswith("坚持党的领导、加强党的建设")]
    assert p.section == heading
    doc3, passages3 = seeds["003_43e5422389ba98aa.txt"]
    assert any(p.section == "1 党建 疫情防控彰显担当为民保安全" for p in passages3)


def test_masthead_lines_stay_searchable(seeds):
    _, passages = seeds["004_69f4fe6adc6ee305.txt"]
    assert any("2023年6月29日" in p.text and "株洲日报" in p.text for p in passages)


def test_jsonl_records_are_documents_named_by_id(tmp_path):
    corpus = tmp_path / "c.jsonl"
    rows = [{"id": "a-1", "title": "范廷颂", "text": "范廷颂是越南罗马天主教枢机。\n\n1963年被任为主教。"},
            {"id": "b-2", "title": "", "text": "Short record without a full stop"}]
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    docs = read_paths([corpus]).documents
    assert [d.name for d in docs] == ["a-1", "b-2"]
    first = split_passages(docs[0])
    assert [p.text for p in first] == ["范廷颂是越南罗马天主教枢机。", "1963年被任为主教。"]
    assert first[0].title == "范廷颂" and first[1].line == 3
    # a record that looks like a heading is still a passage: nothing is lost
    assert [p.text for p in split_passages(docs[1])] == ["Short record without a full stop"]
