"""Answer EM and F1 by CMRC 2018's official rule (the one its papers report)."""

from __future__ import annotations

import re

# CMRC 2018's list, in its order; "……" is one entry but, as in the official script, only single characters
# ever match it, so it removes nothing.
PUNCTUATION = ["-", ":", "_", "*", "^", "/", "\\", "~", "`", "+", "=", "，", "。", "：", "？", "！", "“", "”",
               "；", "’", "《", "》", "……", "·", "、", "「", "」", "（", "）", "－", "～", "『", "』"]
_PUNCT = set(PUNCTUATION)
_CJK = re.compile(r"[\u4e00-\u9fa5]")
_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def tokens(text: str) -> list[str]:
    """Every Chinese character a token; other runs split into words and symbols; punctuation dropped."""
    out: list[str] = []
    run = ""
    for ch in text.lower().strip():
        if ch in _PUNCT:  # dropped without ending the run, as the official script does
            continue
        if _CJK.match(ch):
            out += _WORD.findall(run)
            run = ""
            out.append(ch)
        else:
            run += ch
    out += _WORD.findall(run)
    return out


def _stripped(text: str) -> str:
    return "".join(ch for ch in text.lower().strip() if ch not in _PUNCT)


def _longest_common_run(a: list[str], b: list[str]) -> int:
    best = 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, 1):
            if x == y:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def exact_match(prediction: str | None, answers: list[str]) -> float:
    if not prediction:
        return 0.0
    p = _stripped(prediction)
    return float(any(_stripped(a) == p for a in answers))


def f1(prediction: str | None, answers: list[str]) -> float:
    if not prediction:
        return 0.0
    pred = tokens(prediction)
    best = 0.0
    for a in answers:
        gold = tokens(a)
        common = _longest_common_run(gold, pred)
        if common == 0:
            continue
        precision, recall = common / len(pred), common / len(gold)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best
