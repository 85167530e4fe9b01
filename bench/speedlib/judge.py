"""What the answer verifier costs a question: its own work (features and probability) and the whole judgement
(verifier on against the reader's margin alone), side by side in one process."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from speedlib.common import now, pct


def bench_verifier(index_dir: Path, questions_file: Path, rounds: int = 3) -> dict[str, Any]:
    """Per question: the verifier's features + probability for each chosen span (median, 95th percentile), and
    ``ask_many`` with the verifier on and off, alternated ``rounds`` times (best of each)."""
    from dataclasses import replace

    import numpy as np

    from qa.api import Index
    from qa.judge.judging import answer_features, evidence_of
    from qa.judge.qtype import question_type

    questions = [json.loads(line)["question"] for line in questions_file.read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    index = Index.open(index_dir)
    index.ask_many(questions[:4], top_k=5)  # loads the reader, the verifier, jieba's tables
    policy = index.judging
    best: dict[str, float] = {}
    for _ in range(rounds):
        for name, on in (("on", True), ("off", False)):
            index.judging = replace(policy, verifier=on)
            index.reader.forget()  # every round reads from scratch
            t0 = now()
            answers = index.ask_many(questions, top_k=5)
            best[name] = min(best.get(name, float("inf")), now() - t0)
    index.judging = policy
    vectors = index.embed_questions(questions)
    verifier, evidence = index.verifier, evidence_of(index.answerer)
    own: list[float] = []
    for a, v in zip(answers, vectors):
        t0 = now()
        x = answer_features(a, question_type(a.question), v, evidence)
        if x is not None:
            verifier.probability(x)
            own.append((now() - t0) * 1000)
    n = len(questions)
    return {"questions": n, "spans_judged": len(own),
            "verifier_ms_median": round(float(np.median(own)), 3) if own else None,
            "verifier_ms_p95": round(pct(own, 95), 3) if own else None,
            "ask_many_verifier_on_ms_per_q": round(1000 * best["on"] / n, 2),
            "ask_many_verifier_off_ms_per_q": round(1000 * best["off"] / n, 2),
            "load": os.getloadavg()[0]}


def verifier_section(v: dict[str, Any]) -> list[str]:
    return ["", f"Verifier on {v['questions']} seeds-qa dev questions (load {v['load']:.1f}): its own work "
                f"{v['verifier_ms_median']} ms median, {v['verifier_ms_p95']} ms p95 over {v['spans_judged']} spans; "
                f"ask_many {v['ask_many_verifier_on_ms_per_q']} ms a question with it, "
                f"{v['ask_many_verifier_off_ms_per_q']} ms with the reader's margin alone "
                f"(+{v['ask_many_verifier_on_ms_per_q'] - v['ask_many_verifier_off_ms_per_q']:.2f} ms)"]
