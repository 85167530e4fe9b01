"""Scores of the judgement: abstaining and answers by expected answer type, and risk-coverage of the confidence."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable

from qa.evaluation.metrics import f1
from qa.types import Answer

COVERAGES = (0.5, 0.7, 0.9)
RIGHT_F1 = 50.0  # an answer counts as right when its F1 (0-100) reaches this


def judge_fields(a: Answer, answers: list[str]) -> dict:
    """Per-question fields for the judgement scores: its type, the confidence ranking it, and whether the
    span it would give, abstained or not, is right (an unanswerable question is never answered rightly)."""
    if a.verdict is not None:
        conf = a.verdict
    elif a.answer is not None:
        conf = a.answer.margin
    else:
        conf = -math.inf
    return {"type": a.question_type or "untyped", "confidence": conf,
            "right": bool(answers) and a.answer is not None and 100 * f1(a.answer.text, answers) >= RIGHT_F1,
            "said": a.answer is not None and not a.abstained}


def risk_coverage(rows: list[dict]) -> dict:
    """Accuracy of the most confident answers at 50/70/90% coverage, and the area under accuracy-coverage."""
    rows = [r for r in rows if "confidence" in r]
    if not rows:
        return {}
    ranked = sorted(rows, key=lambda r: -r["confidence"])
    right, curve = 0, []
    for n, r in enumerate(ranked, 1):
        right += bool(r["right"])
        curve.append(right / n)
    out = {f"accuracy@{int(c * 100)}": round(curve[max(1, math.ceil(c * len(curve))) - 1], 4) for c in COVERAGES}
    out["area"] = round(sum(curve) / len(curve), 4)
    return out


def by_type(rows: list[dict], summary: Callable[[list[dict]], dict]) -> dict:
    """Scores by the question's expected answer type."""
    groups = defaultdict(list)
    for r in rows:
        groups[r.get("type", "untyped")].append(r)
    return {t: summary(rs) for t, rs in sorted(groups.items())} if len(groups) > 1 else {}
