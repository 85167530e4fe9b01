"""Question analysis: the expected answer type of a Chinese or English question, from a table of rules."""

from __future__ import annotations

import re
from dataclasses import dataclass

# The kinds a question can ask for; "question_type" in the JSON of `qa ask --json` is one of these.
TYPES = ("person", "number", "date", "place", "organization", "yes_no", "reason", "other")
# A date question's granularity: what the answer must at least name.
GRAINS = ("year", "month", "day", "weekday", "time")  # and "ordinal" for a number asked by 第几, "city" for a place
# A "who" question about an office or a role asks for an individual ("who heads ...", "产科主任是谁"); others
# ("由谁捐献土地", "who sponsored it") may be answered by an organization.
_ROLES = re.compile(r"主任|书记|院长|负责人?|领导|医生|护士|党员|专家|队长|组长|\b(?:heads?|headed|director|president|"
                    r"dean|chief|secretary|doctor|nurse|led|leads?|leader|chair(?:man|woman)?|manager)\b", re.IGNORECASE)
# Kinds that no span of a passage can answer: the passages are returned with their evidence sentence. A why
# question keeps its span: the reason is a clause of the passage (CMRC 2018's annotators marked one for each
# why question; leaving them without a span cost 6.1 F1 on cmrc2018-trial).
NO_SPAN = frozenset({"yes_no"})


@dataclass(frozen=True)
class Rule:
    """One row of the table: questions matching ``pattern`` expect a ``kind`` (dates: at a ``grain``)."""

    kind: str
    pattern: str
    grain: str | None = None
    example: str = ""


# Read top to bottom; the first matching row types a Chinese question. Specific question words come before
# the general ones they contain (几月 before 几, which day before when), wh-words before yes/no forms. An
# English question takes the row whose words come first in it ("what slogan ... whom ... when" asks "what"),
# rows in table order on a tie ("what year" before "what"). A question matching no row is "other".
RULES: tuple[Rule, ...] = (
    # 表现为什么 / 算为什么 ask "as what" (为 the verb + 什么), not "why"
    Rule("reason", r"(?<![现成作称视变认分改定列选译化名算])为什么|为何|什么原因|原因是什么|何故|怎么会|\bwhy\b|for what reason", example="为什么叫“管道班”？"),
    Rule("date", r"星期几|周几|礼拜几|哪几天|哪一?天出诊|what day of the week|which days? of the week", "weekday",
         "每周哪几天出诊？"),
    Rule("date", r"哪一?天|哪一日|几月几[日号]|几号|什么日子|具体日期|哪个日期|\bwhat date\b|\bwhich date\b|"
                 r"\bwhich day\b|\bwhat day\b|\bon what day\b|\bexact date\b", "day", "On exactly which day ...?"),
    Rule("date", r"哪一?年|几几年|什么年份|哪个年份|\bwhat year\b|\bwhich year\b|\bin what year\b", "year",
         "哪一年成立的？"),
    Rule("date", r"哪一?个?月份?|几月|\bwhat month\b|\bwhich month\b", "month", "哪个月开业？"),
    Rule("date", r"几点|什么时刻|\bwhat time\b|\bat what hour\b", "time", "几点开门？"),
    Rule("date", r"何时|什么时候|什么时间|哪个时期|哪个年代|\bwhen\b|\bwhat period\b", None, "什么时候建成？"),
    Rule("organization", r"哪[个家所]?(?:单位|机构|部门|公司|医院|学校|大学|组织|企业|科室|银行|团体)|哪家|"
                         r"\b(?:which|what) (?:hospital|company|organi[sz]ation|department|university|school|"
                         r"institution|agency|team|club|firm|bank)\b", example="由哪家医院牵头？"),
    Rule("place", r"哪个?城市|哪座城市?|\b(?:which|what) city\b", "city", "全国决赛是在哪个城市举办的？"),
    Rule("place", r"哪里|哪儿|何处|何地|什么地方|哪个地方|在哪|哪个?(?:城市|省份?|国家|县|地区|市|镇|村)|哪座城|"
                  r"\bwhere\b|\b(?:which|what) (?:country|province|county|town|place|region|state)\b",
         example="在哪里举办的？"),
    Rule("person", r"谁|哪位|哪一位|何人|哪个人|哪些人|\bwho\b|\bwhom\b|\bwhose\b|\bwhich person\b",
         example="新生儿科由谁负责？"),
    Rule("number", r"第几|\bwhich (?:place|rank|position)\b", "ordinal", "第几位皇后？"),
    Rule("number", r"多少|几(?!乎)|多大|多长|多高|多重|多远|多久|多宽|多深|\bhow (?:many|much|long|old|far|big|large|"
                   r"tall|high|often)\b|\bwhat (?:percentage|percent|number|amount)\b", example="共有多少张床位？"),
    Rule("other", r"\bwhat\b|\bwhich\b|\bhow\b", example="What slogan tells patients whom to look for when ...?"),
    Rule("yes_no", r"是否|有没有|是不是|能不能|可不可以|会不会|有无|吗[？?]?\s*$|"
                   r"^\s*(?:is|are|was|were|did|does|do|has|have|had|can|could|will|would|should)\b",
         example="是否已经康复出院？"),
)

_CJK = re.compile(r"[\u4e00-\u9fff]")
_COMPILED = tuple((r, re.compile(r.pattern, re.IGNORECASE)) for r in RULES)


@dataclass(frozen=True)
class QuestionType:
    """What a question asks for: one of TYPES, and for dates the least granularity the answer must name."""

    kind: str
    grain: str | None = None

    @property
    def spanless(self) -> bool:
        """True when no span can answer it (yes/no, why)."""
        return self.kind in NO_SPAN


def question_type(question: str) -> QuestionType:
    """The expected answer type of a question; "other" when no question word is recognised."""
    english = not _CJK.search(question)
    best: tuple[int, int, Rule] | None = None
    for n, (rule, rx) in enumerate(_COMPILED):
        m = rx.search(question)
        if m is None:
            continue
        key = (m.start() if english else 0, n, rule)
        if best is None or key[:2] < best[:2]:
            best = key
    if best is None:
        return QuestionType("other")
    kind, grain = best[2].kind, best[2].grain
    if kind == "person" and _ROLES.search(question):
        grain = "individual"
    return QuestionType(kind, grain)
