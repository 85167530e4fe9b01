"""Per-question rows of the pipeline (hybrid, reader, margin rule) for calibrating the verifier offline.

    python bench/verifier_rows.py INDEX QUESTIONS OUT.jsonl [--limit N] [--skip-abstained]

Each row: retrieval and reader abstain flags, the chosen span, its F1, and the verifier's features, so that
bench/verifier_calibrate.py can score any verifier weights and threshold without reading again.
``--skip-abstained`` does not read questions the retrieval evidence already abstains on (they are abstained
whatever the reader says)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.api import Index
from qa.evaluation.verifier_data import pipeline_rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("index", type=Path)
    ap.add_argument("questions", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--skip-abstained", action="store_true")
    ap.add_argument("--read-top", type=int, default=None, help="spans of this many top passages [the reading policy's]")
    a = ap.parse_args()
    qs = [json.loads(line) for line in a.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    qs = qs[: a.limit]
    for q in qs:
        q["source"] = a.questions.parent.name
    pipeline_rows(Index.open(a.index), qs, a.out, read_abstained=not a.skip_abstained, read_top=a.read_top)


if __name__ == "__main__":
    main()
