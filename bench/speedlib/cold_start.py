"""The start-up part of bench/speed.py: `qa --help` and a cold `qa ask`, each in a new process."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path
from typing import Any

from speedlib.common import child_env, cold_ask_cmd, run_child

# Prints whether `qa --help` imported torch, faiss and numpy, and how many modules it imported.
_PROBE = ("import sys, qa.cli\n"
          "try:\n    qa.cli.app(['--help'])\nexcept SystemExit:\n    pass\n"
          "print(int('torch' in sys.modules), int('faiss' in sys.modules), int('numpy' in sys.modules), "
          "len(sys.modules))")


def bench_processes(folder: Path, question: str, runs: int) -> dict[str, Any]:
    env = child_env()
    py = sys.executable
    helps, asks = [], []
    for _ in range(runs):
        helps.append(run_child([py, "-m", "qa.cli", "--help"], env))
    for _ in range(runs):
        asks.append(run_child(cold_ask_cmd(folder, question), env))
    probe = run_child([py, "-c", _PROBE], env)
    flags = probe[3].strip().splitlines()[-1].split() if probe[3].strip() else ["?"] * 4
    return {
        "help_s": statistics.median(h[0] for h in helps),
        "help_s_all": [h[0] for h in helps],
        "help_maxrss_mb": statistics.median(h[1] for h in helps),
        "help_imports_torch": flags[0] == "1",
        "help_imports_faiss": flags[1] == "1",
        "help_imports_numpy": flags[2] == "1",
        "help_modules": int(flags[3]) if flags[3].isdigit() else None,
        "ask_cold_s": statistics.median(a[0] for a in asks),
        "ask_cold_s_all": [a[0] for a in asks],
        "ask_cold_maxrss_mb": statistics.median(a[1] for a in asks),
        "ask_cold_ok": all(a[2] == 0 for a in asks),
    }
