"""Span typing: whether a candidate answer span is a person, number, date (at a granularity), place or organization."""

from __future__ import annotations

import re
from functools import lru_cache

from qa.judge.qtype import QuestionType

# Numerals: Arabic, Chinese (incl. 两/半/数 in 数十), and English number words.
_NUMERAL = re.compile(r"\d|[一二三四五六七八九十百千万亿两零〇半数廿卅]|\b(?:one|two|three|four|five|six|seven|eight|"
                      r"nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|thousand|million|billion|dozen|"
                      r"several|half)\b", re.IGNORECASE)
_MONTHS = r"january|february|march|april|may|june|july|august|september|october|november|december|" \
          r"jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec"
_WEEKDAYS = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekdays?|weekends?"
# What each granularity of a date must show, Chinese and English; a date question without a grain needs any.
DATE_GRAINS: dict[str, re.Pattern] = {
    "year": re.compile(r"\d{2,4}\s*年|[〇零一二三四五六七八九]{2,4}年|\b1[0-9]{3}\b|\b20[0-9]{2}\b|年代|世纪|"
                       r"centur(?:y|ies)|\d0s\b|去年|今年|明年|前年", re.IGNORECASE),
    "month": re.compile(rf"\d{{1,2}}\s*月|[一二三四五六七八九十]{{1,3}}月|月份|\b(?:{_MONTHS})\b", re.IGNORECASE),
    "day": re.compile(rf"\d{{1,2}}\s*[日号]|[一二三四五六七八九十廿卅]{{1,3}}[日号]|\d{{4}}[-/.]\d{{1,2}}[-/.]\d{{1,2}}|"
                      rf"\b(?:{_MONTHS})\.?\s+\d{{1,2}}\b|\b\d{{1,2}}\s+(?:{_MONTHS})\b|当天|次日|昨天|今天|明天|"
                      rf"除夕|春节|元旦|国庆|中秋|端午|清明|节日?\b|\b(?:{_WEEKDAYS})\b|星期|周[一二三四五六日天]",
                      re.IGNORECASE),
    "weekday": re.compile(rf"星期|周[一二三四五六日天末]|礼拜|工作日|每天|每日|\b(?:{_WEEKDAYS})\b|\bdaily\b",
                          re.IGNORECASE),
    "time": re.compile(r"\d{1,2}\s*[:：]\s*\d{2}|[\d一二三四五六七八九十]+\s*[点时]|上午|下午|中午|晚上|凌晨|早上|"
                       r"\b(?:a\.?m|p\.?m)\b|o'clock|noon|midnight|morning|evening|night", re.IGNORECASE),
}
_ANY_DATE = re.compile("|".join(p.pattern for p in DATE_GRAINS.values()) + r"|\d|期间|时期|之前|之后|以前|以后|"
                       r"\b(?:before|after|during|since|until)\b", re.IGNORECASE)
_ORG_END = re.compile(r"(?:医院|中心|公司|集团|大学|学院|学校|委员会|委|局|厅|部|处|科|所|院|会|社|团|队|组|办|馆|站|"
                      r"银行|协会|联盟|政府|党支部|支部|党委|车间|班)$")
_PLACE_END = re.compile(r"(?:省|市|县|区|镇|乡|村|街道?|路|国|州|山|河|湖|岛|港|湾|城|洲|郡|里|园|广场)$")
# A person's role or a group, not a name: "优秀共产党员" answers no "who" unless a name comes with it.
_ROLE_END = re.compile(r"(?:党员|人员|职工|群众|代表|团队|集体|个人|专家|医生|护士|医务人员|志愿者|村民|患者|员工)$")
_CAPWORD = re.compile(r"\b[A-Z][a-z'’-]+\b")
# China's provinces and regions: a "which city" question is not answered by one of these alone.
_PROVINCES = re.compile(r"(?:河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|海南|四川|贵州|云南|陕西|"
                        r"甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆|华北|华东|华南|华中|西南|西北|东北)(?:省|自治区|地区)?")
_LATIN = re.compile(r"[A-Za-z]")
_CLAUSE = 24  # a span longer than this many characters is a clause, not a name


@lru_cache(maxsize=4096)
def pos_flags(text: str) -> tuple[tuple[str, str], ...]:
    """jieba part-of-speech (word, flag) pairs of a span: nr person, ns place, nt organization, m numeral."""
    from qa.index.languages import prepare_pos_tagging

    prepare_pos_tagging()  # jieba.posseg's tags from the cached tables, not its whole dictionary
    import jieba.posseg

    return tuple((w.word, w.flag) for w in jieba.posseg.cut(text) if w.word.strip())


def is_person(span: str) -> bool:
    if _LATIN.search(span) and not re.search(r"[\u4e00-\u9fff]", span):
        return bool(_CAPWORD.search(span)) and not re.search(r"\d", span)
    return any(f.startswith("nr") for _, f in pos_flags(span))


# Numerals that count nothing: ordinals (第一), and words that merely hold a numeral character (一线, 统一, 荆州一医).
_NOT_COUNTING = re.compile(r"第[一二三四五六七八九十百千零〇两\d]+|一(?:线|起|直|些|体|致|定|般|切|同|道|流|医|院|旦|带|度|贯)|"
                           r"(?:统|唯|同|进|万|之|单|合)一|数(?:据|字|量|学|码|值)|[十万]分|千万|半(?:岛|导体)")


def is_number(span: str, ordinal: bool = False) -> bool:
    """True when the span holds a number that counts something (an ordinal too, when ``ordinal``)."""
    return bool(_NUMERAL.search(span if ordinal else _NOT_COUNTING.sub(" ", span)))


def is_date(span: str, grain: str | None = None) -> bool:
    if grain is None:
        return bool(_ANY_DATE.search(span))
    return bool(DATE_GRAINS[grain].search(span))


def is_place(span: str) -> bool:
    core = span.strip("“”\"' 。，,")
    return bool(_PLACE_END.search(core)) or any(f == "ns" for _, f in pos_flags(core)) or bool(_CAPWORD.search(span))


CLAUSE_MARKS = frozenset(",，;；。:：!！?？“”\"")


def is_phrase(text: str, longest: int = 20) -> bool:
    """A short span that is not a clause: the typing rules can vouch only for such a span's kind (a clause
    holding a place name is no place)."""
    return len(text) <= longest and not CLAUSE_MARKS.intersection(text)


def is_city(span: str) -> bool:
    """One place word (北京, 株洲市, Beijing), not a phrase that mentions places."""
    if not re.search(r"[\u4e00-\u9fff]", span):
        return bool(_CAPWORD.search(span)) and len(span.split()) <= 3
    flags = pos_flags(span.strip("“”\"' 。，,"))
    return len(flags) == 1 and (flags[0][1] == "ns" or bool(_PLACE_END.search(flags[0][0])))


def is_organization(span: str) -> bool:
    core = span.strip("“”\"' 。，,")
    return bool(_ORG_END.search(core)) or any(f == "nt" for _, f in pos_flags(core)) or bool(_CAPWORD.search(span))


def matches(span: str, qt: QuestionType) -> bool:
    """True when the span is of the kind the question asks for (kinds with no type test always match)."""
    kind = qt.kind
    if kind == "person":
        return is_person(span)
    if kind == "number":
        return is_number(span, qt.grain == "ordinal")
    if kind == "date":
        return is_date(span, qt.grain)
    if kind == "place":
        return is_place(span)
    if kind == "organization":
        return is_organization(span)
    return True


def contradicts(span: str, qt: QuestionType) -> bool:
    """True when the span cannot be an answer of the asked kind: a number question answered without a number,
    a date without the asked granularity, a person answered by an organization or a whole clause, a place or
    organization answered by a bare number. Milder than ``not matches``: uncertain cases are left to the verifier."""
    kind, text = qt.kind, span.strip()
    if not text:
        return True
    if kind == "number":
        return not is_number(text, qt.grain == "ordinal")
    if kind == "date":
        if qt.grain is not None and is_date(text, qt.grain):
            return False
        if qt.grain == "weekday":
            return True
        if qt.grain is not None:
            # a coarser date than asked (2021年8月 for "which day") contradicts; a bare number may be a year
            return is_date(text) or not is_number(text) or qt.grain != "year"
        # English "when" questions may be answered by a condition ("only when ..."): only a Chinese span
        # without any date contradicts.
        return not is_date(text) and bool(re.search(r"[\u4e00-\u9fff]", text))
    if kind == "person":
        if is_person(text):
            return False
        has_cjk = bool(re.search(r"[\u4e00-\u9fff]", text))
        too_long = len(text) > _CLAUSE if has_cjk else len(text.split()) > 8
        # An organization answers "who donated the land" but not "who heads the department".
        organization = has_cjk and bool(_ORG_END.search(text) or _PLACE_END.search(text)) and len(text) > 4
        return (too_long or bool(re.search(r"\d", text)) or (organization and qt.grain == "individual")
                or (has_cjk and bool(_ROLE_END.search(text))))
    if kind == "place" and qt.grain == "city" and re.search(r"[\u4e00-\u9fff]", text) and "市" not in text:
        if _PROVINCES.search(text) and not _PROVINCES.sub("", re.sub(r"[、,，和与及\s]|赛区|地区", "", text)):
            return True
    if kind in ("place", "organization"):
        too_long = len(text.split()) > 12 if _LATIN.search(text) and not re.search(r"[\u4e00-\u9fff]", text) \
            else len(text) > 2 * _CLAUSE
        return bool(re.fullmatch(r"[\d\s.,%，．]+", text)) or too_long
    return False
