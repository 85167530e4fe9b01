"""Writes cmrc2018-train questions as unanswerable questions for the seeds index (no gold), for
calibrating and checking abstention: `python bench/unanswerable.py N > out.jsonl`."""

import json
import random
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "cmrc2018-train" / "questions.jsonl"


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    rows = [json.loads(line) for line in SOURCE.read_text(encoding="utf-8").splitlines()]
    random.Random(0).shuffle(rows)
    for r in rows[:n]:
        print(json.dumps({"id": r["id"], "question": r["question"], "lang": r["lang"], "docs": [], "answers": []},
                         ensure_ascii=False))


if __name__ == "__main__":
    main()
