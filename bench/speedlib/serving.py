"""The serving part of bench/speed.py: `qa ask --server` against a warm `qa serve`, beside a cold `qa ask`."""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path
from typing import Any

from speedlib.common import ROOT, ChildRun, child_env, cold_ask_cmd, run_child


def bench_server(folder: Path, question: str, runs: int) -> dict[str, Any]:
    """`qa ask --server` (a warm `qa serve` on ``folder``) beside a cold `qa ask --index`, same question."""
    sys.path.insert(0, str(ROOT / "bench"))
    from load import Served

    env = child_env()
    env.pop("QA_SERVER", None)
    server = Served(folder)
    try:
        remote_cmd = [sys.executable, "-m", "qa.cli", "ask", question, "--server", server.url, "--json"]
        run_child(remote_cmd, env)  # the server's first question loads jieba's dictionary
        remote: list[ChildRun] = []
        cold: list[ChildRun] = []
        for _ in range(runs):  # alternated, so both see the same machine load
            remote.append(run_child(remote_cmd, env))
            cold.append(run_child(cold_ask_cmd(folder, question), env))
    finally:
        server.stop()
    same = all(r[3] == c[3] for r, c in zip(remote, cold))
    return {
        "server_ask_s": statistics.median(r[0] for r in remote),
        "server_ask_s_all": [r[0] for r in remote],
        "server_ask_maxrss_mb": statistics.median(r[1] for r in remote),
        "cold_ask_s": statistics.median(c[0] for c in cold),
        "cold_ask_s_all": [c[0] for c in cold],
        "cold_ask_maxrss_mb": statistics.median(c[1] for c in cold),
        "same_output": same,
        "ok": all(r[2] == 0 for r in remote) and all(c[2] == 0 for c in cold),
        "load": os.getloadavg()[0],
    }
