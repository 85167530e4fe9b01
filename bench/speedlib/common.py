"""Helpers shared by the parts of bench/speed.py: paths, clocks, percentiles, memory, child-process timing."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared" / "bench" / "cmrc2018-train"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/bench/cmrc2018-train")
DIM = 384
TIME = Path("/usr/bin/time")

# (wall seconds, peak RSS in MB, exit status, stdout) of one child process
ChildRun = tuple[float, float, int, str]


def now() -> float:
    return time.perf_counter()


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs, dtype=np.float64), q)) if xs else float("nan")


def maxrss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def cpu_description() -> str:
    """The CPU's model name and which of the flags that decide an engine it has."""
    from qa.encoder.cpu import cpu_flags

    try:
        info = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return "unknown CPU"
    name = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")), "?")
    flags = cpu_flags()
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
    return f"{name}; flags: {' '.join(f for f in wanted if f in flags) or 'none of avx2/avx512/vnni/bf16/amx'}"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def child_env() -> dict[str, str]:
    """This process's environment for a `qa` child, with the model cache the benchmark uses."""
    env = dict(os.environ)
    env.setdefault("QA_CACHE_DIR", str(Path("/work/cache")))
    return env


def cold_ask_cmd(folder: Path, question: str) -> list[str]:
    """A new `qa ask` process on the index in ``folder``, printing JSON."""
    return [sys.executable, "-m", "qa.cli", "ask", question, "--index", str(folder), "--json"]


def run_child(args: list[str], env: dict[str, str] | None = None) -> ChildRun:
    """Wall seconds, peak RSS (MB, nan if unknown), exit status and stdout of a new process.

    The peak RSS comes from /usr/bin/time: a child forked straight from this (large) process would
    report this process's RSS as its own peak."""
    wrap = [str(TIME), "-f", "maxrss_kb=%M"] if TIME.is_file() else []
    t0 = now()
    p = subprocess.run(wrap + args, capture_output=True, env=env, cwd=ROOT, check=False)
    wall = now() - t0
    err = p.stderr.decode("utf-8", "replace")
    kb = [line.split("=", 1)[1] for line in err.splitlines() if line.startswith("maxrss_kb=")]
    rss = int(kb[-1]) / 1024 if kb and kb[-1].strip().isdigit() else float("nan")
    return wall, rss, p.returncode, p.stdout.decode("utf-8", "replace")


def load_questions(path: Path, n: int, skip: int = 0) -> list[str]:
    """The ``question`` field of up to ``n`` non-blank lines of a .jsonl file, after its first ``skip`` lines."""
    out = []
    with path.open(encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i < skip:
                continue
            if line.strip():
                out.append(json.loads(line)["question"])
            if len(out) == n:
                break
    return out


def corpus_texts(root: Path) -> list[str]:
    """The texts the embedder is given for every passage under ``root``."""
    from qa.documents import read_paths
    from qa.documents.paragraphs import split_passages
    from qa.encoder.embedder import passage_text

    report = read_paths([root])
    return [passage_text(p) for doc in report.documents for p in split_passages(doc)]


def ensure_index(folder: Path, source: Path, cache_dir: Path | None, part: str, name: str) -> None:
    """Build the index of ``source`` in ``folder`` unless one is there already (logged as ``[part]``)."""
    if (folder / "CURRENT").is_file():
        return
    from qa.api import Index

    log(f"[{part}] building the {name} index")
    Index.build([source], folder, cache_dir=cache_dir)
