"""A local Ray build against the single-process build of the same corpus: wall time, and sameness.

    python bench/ray_compare.py [CORPUS ...] [--rounds N]   # default: cmrc2018-train's corpus.jsonl

Each round runs `qa index CORPUS --index A` then `qa index CORPUS --index B --ray` as fresh processes
(each loads its model, Ray starts and stops inside the second), then checks that the two indexes hold
the same passages in the same order, the same BM25 files, and vectors within cosine 0.9999.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CMRC = ROOT.parent / "shared" / "bench" / "cmrc2018-train" / "corpus.jsonl"
if not CMRC.is_file():
    CMRC = Path("/work/shared/bench/cmrc2018-train/corpus.jsonl")


def run(args: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "qa.cli", "index", *args, "--quiet"], cwd=ROOT, env=env, check=True)
    return time.perf_counter() - t0


def generation(folder: Path) -> Path:
    return folder / (folder / "CURRENT").read_text(encoding="utf-8").strip()


def compare(a: Path, b: Path) -> dict:
    ga, gb = generation(a), generation(b)
    same = {name: (ga / name).read_bytes() == (gb / name).read_bytes()
            for name in ("passages.jsonl", "keys.txt", "lexical/tokens.tsv", "lexical/data.csc.index.npy",
                         "lexical/indices.csc.index.npy", "lexical/indptr.csc.index.npy", "lexical/vocab.index.json")}
    va, vb = np.load(ga / "vectors.npy"), np.load(gb / "vectors.npy")
    ma, mb = (json.loads((g / "manifest.json").read_text(encoding="utf-8")) for g in (ga, gb))
    skip = {"created", "files", "engine"}
    return {"same_files": same, "min_cosine": float(np.min(np.sum(va * vb, axis=1))),
            "manifest_equal_but_engine": {k: v for k, v in ma.items() if k not in skip}
            == {k: v for k, v in mb.items() if k not in skip},
            "engines": [ma.get("engine"), mb.get("engine")]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", nargs="*", type=Path, default=[CMRC])
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="qa-ray-compare-"))
    rows = []
    try:
        for r in range(args.rounds):
            shutil.rmtree(work, ignore_errors=True)
            load0 = os.getloadavg()
            local = run([*map(str, args.corpus), "--index", str(work / "local")])
            ray = run([*map(str, args.corpus), "--index", str(work / "ray"), "--ray"])
            rows.append({"round": r + 1, "local_s": local, "ray_s": ray, "ratio": ray / local,
                         "load_before": load0, "load_after": os.getloadavg(), **compare(work / "local", work / "ray")})
            print(json.dumps(rows[-1]), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
