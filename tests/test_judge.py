"""Judgement: the question-type table row by row, span typing, and the verifier's weights file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qa.errors import QAError
from qa.judge.features import NAMES, span_in_question, subject_words, unit_match
from qa.judge.qtype import RULES, QuestionType, question_type
from qa.judge.spantype import contradicts, matches
from qa.judge.trainset import swap_subject
from qa.judge.verifier import Verifier, shipped_weights

BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"

# One question per row of RULES, in table order, with the type it must get.
ROWS = [
    ("株洲市中心医院的管道班为什么叫“管道班”？", "reason", None),
    ("株洲市中心医院的“民医工作室”每周哪几天出诊？", "date", "weekday"),
    ("On exactly which day in August 2021 did the hospital diagnose its first case?", "date", "day"),
    ("In what year was Jingzhou First People's Hospital founded?", "date", "year"),
    ("新门诊大楼是哪个月投入使用的？", "date", "month"),
    ("疫苗接种点每天几点开门？", "date", "time"),
    ("When did Zhuzhou No.2 Hospital's health management center open?", "date", None),
    ("荆州一医在全市率先推进医疗机构改革，顺利整合了哪家医院？", "organization", None),
    ("全国决赛是在哪个城市举办的？", "place", "city"),
    ("Where in Zhuzhou Central Hospital is the wound care clinic?", "place", None),
    ("Who donated the land on which the park was built?", "person", None),
    ("高英是高句丽高家嫁入北魏皇家的第几位皇后？", "number", "ordinal"),
    ("How many beds does Zhuzhou Central Hospital have in total?", "number", None),
    ("At Jingzhou First Hospital, what slogan tells patients whom to look for when they run into difficulties?",
     "other", None),
    ("Did the Zhuzhou Central Hospital waive the costs for the boy?", "yes_no", None),
]


@pytest.mark.parametrize("question,grain", [
    ("Who heads the neonatology department at the Guilin Maternal and Child Health Hospital?", "individual"),
    ("株洲市中心医院的党委书记是谁？", "individual"), ("新生儿科由谁负责？", "individual"),
    ("乍都节公园是由谁捐献土地建造出来的？", None), ("这个计划由谁来主持？", None),
])
def test_who_asks_for_an_individual_when_it_names_an_office(question, grain):
    assert question_type(question) == QuestionType("person", grain)


def test_every_row_of_the_table_has_a_test():
    kinds = [(r.kind, r.grain) for r in RULES]
    assert kinds == [(k, g) for _, k, g in ROWS]


@pytest.mark.parametrize("question,kind,grain", ROWS)
def test_question_type_row(question, kind, grain):
    assert question_type(question) == QuestionType(kind, grain)


@pytest.mark.parametrize("question,kind", [
    ("株洲市妇幼保健院的党委专职副书记是谁？", "person"), ("哪位院长说过这句话？", "person"),
    ("株洲市二医院去年一共收到了多少面锦旗？", "number"), ("柳女士是否已经康复出院？", "yes_no"),
    ("How old was the newborn on whom the surgeons operated?", "number"),  # the first question word decides
    ("What year did it open?", "date"), ("对亚硫酸盐过敏的反应表现为什么？", "other"),  # as what, not why
    ("生命数耗完即算为什么？", "other"), ("他几乎每天都来吗？", "yes_no"),  # 几乎 is not 几
    ("株洲市中心医院", "other"), ("hello world", "other"),  # no question word: other
])
def test_question_words_beyond_the_table_examples(question, kind):
    assert question_type(question).kind == kind


def test_yes_no_and_why_take_no_span():
    assert question_type("是否已经康复出院？").spanless and question_type("Did they waive the costs?").spanless
    assert not question_type("Why is it called that?").spanless  # a reason is a clause of the passage
    assert not question_type("谁是院长？").spanless


@pytest.mark.parametrize("span,qt,expected", [
    ("张志勇", QuestionType("person"), True), ("Zhang Zhiyong", QuestionType("person"), True),
    ("358人次", QuestionType("number"), True), ("三个主线", QuestionType("number"), True),
    ("二十余万元", QuestionType("number"), True), ("two delegates", QuestionType("number"), True),
    ("2023年6月29日", QuestionType("date", "day"), True), ("2021年8月", QuestionType("date", "day"), False),
    ("1998年", QuestionType("date", "year"), True), ("每周二、周四", QuestionType("date", "weekday"), True),
    ("桂林市", QuestionType("place"), True), ("株洲市中心医院", QuestionType("organization"), True),
])
def test_span_matches_type(span, qt, expected):
    assert matches(span, qt) is expected


@pytest.mark.parametrize("span,qt", [
    ("市妇幼保健院儿童健康管理中心", QuestionType("person", "individual")),  # an organization for "who heads"
    ("株洲市医疗卫生系统优秀共产党员", QuestionType("person")),  # a title, not a name
    ("2021年8月", QuestionType("date", "day")),  # coarser than the asked day
    ("全院职工", QuestionType("number")),  # no number at all
    ("党员们利用休息时间为群众服务", QuestionType("date", "weekday")),  # a clause for "which days"
    ("第一党支部联合第四党支部、第五党支部的党员志愿者前往炎陵县水口镇开展义诊活动", QuestionType("person")),
    ("第一党支部联合第四党支部、第四十五党支部", QuestionType("number")),  # ordinals count nothing
    ("湖南、江西赛区", QuestionType("place", "city")),  # provinces for "which city"
    ("荆州一医一线医护人员", QuestionType("number")),  # numeral characters inside words
])
def test_span_contradicts_type(span, qt):
    assert contradicts(span, qt)


@pytest.mark.parametrize("span,qt", [
    ("党委书记张志勇", QuestionType("person")), ("358人次", QuestionType("number")),
    ("2023年6月29日", QuestionType("date", "day")), ("1998", QuestionType("date", "year")),
    ("原荆州市胸科医院", QuestionType("organization")), ("有困难,找红衣", QuestionType("other")),
    # from cmrc2018-trial and squadshifts-wiki: an ordinal asked by 第几, a condition for "when", a long name
    ("第二位", QuestionType("number", "ordinal")), ("泰国国家铁路局", QuestionType("person")),  # 由谁捐献土地
    ("长沙", QuestionType("place", "city")),
    ("only when an abbreviation contains internal periods", QuestionType("date")),
    ("Korea Advanced Institute of Science and Technology (KAIST)", QuestionType("organization")),
])
def test_right_kind_is_not_contradicted(span, qt):
    assert not contradicts(span, qt)


def test_subject_words_and_echoes():
    assert "株洲市中心医院" in "".join(subject_words("株洲市中心医院的党委书记是谁？"))
    assert subject_words("Who heads the neonatology department at the Guilin Hospital?") == ["guilin", "hospital"]
    assert span_in_question("株洲市中心医院", "株洲市中心医院的党委书记是谁？") == 1.0
    assert span_in_question("张志勇", "株洲市中心医院的党委书记是谁？") == 0.0


@pytest.mark.parametrize("question,span,after,expected", [
    ("株洲市中心医院一共有多少张床位？", "1300张", "", 1.0),
    ("得知乐乐住院后，党员们很快筹到了多少善款？", "4100元", "", 0.5),  # 多少 before a noun: no unit asked
    ("荆州一医一共有多少个党支部？", "三个主线", "", 0.5),  # 个 counts anything
    ("2022年株洲市二医院共招聘引进了多少名硕士研究生？", "10人", "", 1.0),  # 名 and 人 count people alike
    ("疫情防控时把几个病区改成了呼吸病房？重症床位达到了多少张？", "388张", "", 1.0),
    ("株洲市二医院去年一共收到了多少面锦旗？", "191人次", "", 0.0),
    ("How many beds does Zhuzhou Central Hospital have in total?", "三个主线", "", 0.0),
    ("How many beds does Zhuzhou Central Hospital have in total?", "1300", "张床位", 1.0),
    ("How many villagers were seen at the free clinic?", "第一党支部联合第四党支部", "", 0.0),
    ("How much money did the hospital raise?", "200万元", "", 1.0),
    # the counted noun is past the possessive, and Chinese counts graduates (毕业生) as people: 名/位/人
    ("How many master's graduates signed with the hospital?", "15", "名硕士研究生", 1.0),
    ("How many master's graduates signed with the hospital?", "15", "个科室", 0.0),
    ("How many nurses were sent to Wuhan?", "8", "名", 1.0),
    ("What is the hospital's slogan?", "有困难,找红衣", "", 0.5),
])
def test_unit_match_of_number_questions(question, span, after, expected):
    assert unit_match(question, span, after) == expected


def test_swapped_subject_names_another_of_its_kind():
    import random

    pool = {"nr": ["张志勇", "王劲"], "ns": ["桂林"], "nt": []}
    swapped = swap_subject("株洲市中心医院的党委书记张志勇毕业于哪里？", pool, random.Random(0))
    assert swapped is not None and swapped != "株洲市中心医院的党委书记张志勇毕业于哪里？"
    assert ("王劲" in swapped) != ("桂林" in swapped)
    assert swap_subject("今天天气怎么样？", pool, random.Random(0)) is None


def test_shipped_verifier_loads_and_scores_in_numpy():
    v = Verifier.load()
    p = v.probability(np.zeros(len(NAMES)))
    assert p.shape == (1,) and 0.0 < p[0] < 1.0
    assert set(v.thresholds) >= {"zh>zh", "en>zh", "*"}
    assert v.read_on >= 1 and v.unit_rule  # the decision calibrated with it (CARD.md)


def test_missing_verifier_weights_is_one_line_error(tmp_path):
    with pytest.raises(QAError, match="verifier weights not found: .*nope.json") as e:
        Verifier.load(tmp_path / "nope.json")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("content", ["{not json", json.dumps({"features": ["x"]}), "",
                                     "RAW", "DECISION"])
def test_corrupt_verifier_weights_is_one_line_error(tmp_path, content):
    path = tmp_path / "verifier.json"
    if content in ("RAW", "DECISION"):
        data = json.loads(shipped_weights().read_text())
        if content == "RAW":
            data["coef"] = data["coef"][:-1]
        else:
            data["decision"] = {"read_again": 5}
        content = json.dumps(data)
    path.write_text(content)
    with pytest.raises(QAError, match=str(path)) as e:
        Verifier.load(path)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("span,city,phrase", [
    ("北京", True, True),
    ("株洲市", True, True),
    ("Beijing", True, True),
    ("湖南、江西赛区第一名", False, True),  # mentions provinces, names no city
    ("湖南、江西赛区第一名,成功晋级全国决赛", False, False),  # a clause
])
def test_a_lower_ranked_span_must_be_one_city_and_a_phrase(span, city, phrase):
    from qa.judge.spantype import is_city, is_phrase

    assert is_city(span) == city and is_phrase(span) == phrase
