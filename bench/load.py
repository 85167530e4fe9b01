"""Load test of `qa serve`: latency, throughput, errors and server memory on the cmrc2018-train index.

    python bench/load.py [--index DIR] [--questions 2000] [--clients 4] [--single 200]

Starts `qa serve` on a free loopback port (building the index first when DIR holds none), asks
``--single`` questions from one client to measure warm latency, then ``--questions`` questions from
``--clients`` concurrent clients (each with one keep-alive connection). Every loop is bounded by the
question count and a deadline, and only 127.0.0.1 is ever contacted. Prints p50/p95/p99 latency,
throughput, errors, hit@1 against the gold paragraph, and the server's RSS before and after.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "bench" / "cmrc2018-train"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/bench/cmrc2018-train")
HOST = "127.0.0.1"


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class MemoryTrace:
    """The server's RSS every ``every`` seconds, labelled with the phase, to see whether it levels off."""

    def __init__(self, pid: int, every: float = 2.0):
        self.pid, self.every, self.phase = pid, every, "warm"
        self.samples: list[tuple[float, str, float]] = []
        self._stop = threading.Event()
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.samples.append((round(time.monotonic() - self._t0, 1), self.phase, round(rss_mb(self.pid), 1)))
            except OSError:
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def quartiles(self, phase: str) -> list[float]:
        """RSS at the end of each quarter of ``phase``."""
        xs = [mb for _, p, mb in self.samples if p == phase]
        return [xs[min(len(xs) - 1, (len(xs) * k) // 4)] for k in (1, 2, 3)] + [xs[-1]] if xs else []


class Served:
    """`qa serve` in a child process on a free loopback port."""

    def __init__(self, index: Path, timeout: float = 600):
        self.log = Path(tempfile.mkstemp(prefix="qa-serve-", suffix=".log")[1])
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("QA_TOKEN", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--index", str(index),
                                      "--host", HOST, "--port", "0"], env=env, cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=self.log.open("w"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(r"on http://127\.0\.0\.1:(\d+)/", self.log.read_text(errors="replace"))
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                raise SystemExit(f"qa serve exited: {self.log.read_text()}")
            time.sleep(0.2)
        else:
            self.stop()
            raise SystemExit("qa serve did not start in time")
        self.url = f"http://{HOST}:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def ask_loop(port: int, work: "queue.Queue[tuple[str, str, list[str]]]", out: list, deadline: float,
             reader: bool) -> None:
    """Ask questions from ``work`` over one keep-alive connection until it is empty or time is up."""
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    while time.monotonic() < deadline:
        try:
            qid, question, gold = work.get_nowait()
        except queue.Empty:
            break
        body = json.dumps({"question": question, "top_k": 5, "reader": reader}, ensure_ascii=False).encode()
        t0 = time.perf_counter()
        try:
            conn.request("POST", "/ask", body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
            dt = time.perf_counter() - t0
            if resp.status != 200:
                out.append((dt, f"{resp.status}", False))
                continue
            rec = json.loads(data)
            top = rec["passages"][0]["doc"] if rec["passages"] else None
            out.append((dt, None, top in gold))
        except (OSError, http.client.HTTPException, ValueError) as e:
            out.append((time.perf_counter() - t0, type(e).__name__, False))
            conn.close()
            conn = http.client.HTTPConnection(HOST, port, timeout=120)
    conn.close()


def run_phase(port: int, items: list[tuple[str, str, list[str]]], clients: int, limit_s: float,
              reader: bool = True) -> dict:
    work: queue.Queue = queue.Queue()
    for it in items:
        work.put(it)
    results: list[list] = [[] for _ in range(clients)]
    deadline = time.monotonic() + limit_s
    t0 = time.perf_counter()
    threads = [threading.Thread(target=ask_loop, args=(port, work, results[i], deadline, reader))
               for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    done = [r for rs in results for r in rs]
    lat = [r[0] * 1e3 for r in done if r[1] is None]
    errors = [r[1] for r in done if r[1] is not None]
    return {"clients": clients, "reader": reader, "asked": len(done), "unasked": len(items) - len(done),
            "errors": len(errors), "error_kinds": sorted(set(errors)), "wall_s": round(wall, 2),
            "throughput_qps": round(len(done) / wall, 1) if wall else None,
            "p50_ms": round(pct(lat, 50), 1), "p95_ms": round(pct(lat, 95), 1), "p99_ms": round(pct(lat, 99), 1),
            "mean_ms": round(statistics.fmean(lat), 1) if lat else None,
            "hit@1": round(sum(r[2] for r in done) / len(done), 4) if done else None}


def load_items(path: Path, n: int, skip: int = 0) -> list[tuple[str, str, list[str]]]:
    items: list[tuple[str, str, list[str]]] = []
    if n <= 0:
        return items
    with path.open(encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i < skip:
                continue
            rec = json.loads(line)
            items.append((str(rec["id"]), rec["question"], list(rec.get("gold", []))))
            if len(items) >= n:
                break
    return items


def ensure_index(index: Path, corpus: Path) -> None:
    if (index / "CURRENT").is_file():
        return
    print(f"building the index of {corpus} in {index} (once)", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "qa.cli", "index", str(corpus), "--index", str(index), "--quiet"],
                   check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, default=Path(tempfile.gettempdir()) / "cmrc-index")
    ap.add_argument("--data", type=Path, default=SHARED, help="folder with corpus.jsonl and questions.jsonl")
    ap.add_argument("--questions", type=int, default=2000, help="questions for the concurrent phase")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--single", type=int, default=200, help="questions for the single-client phase (0: skip)")
    ap.add_argument("--limit-s", type=float, default=1800, help="deadline of each phase")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    ensure_index(args.index, args.data / "corpus.jsonl")
    questions = load_items(args.data / "questions.jsonl", args.questions)
    warm = load_items(args.data / "questions.jsonl", 20, skip=args.questions)
    single = load_items(args.data / "questions.jsonl", args.single, skip=args.questions + 20)
    server = Served(args.index)
    res: dict = {"index": str(args.index), "load_before": os.getloadavg()}
    trace = MemoryTrace(server.proc.pid)
    try:
        run_phase(server.port, warm, 1, args.limit_s)  # first questions load jieba and warm caches
        res["rss_before_mb"] = round(rss_mb(server.proc.pid), 1)
        if single:
            trace.phase = "single_no_reader"
            res["single_no_reader"] = run_phase(server.port, single, 1, args.limit_s, reader=False)
            trace.phase = "single"
            res["single"] = run_phase(server.port, single, 1, args.limit_s)
        trace.phase = "concurrent"
        res["concurrent"] = run_phase(server.port, questions, args.clients, args.limit_s)
        res["rss_after_mb"] = round(rss_mb(server.proc.pid), 1)
        trace.stop()
        res["rss_quartiles_mb"] = {p: trace.quartiles(p) for p in ("single_no_reader", "single", "concurrent")}
        res["rss_trace"] = trace.samples
        res["rss_growth_pct"] = round(100 * (res["rss_after_mb"] / res["rss_before_mb"] - 1), 2)
        res["load_after"] = os.getloadavg()
    finally:
        trace.stop()
        server.stop()
    for name in ("single_no_reader", "single", "concurrent"):
        if name in res:
            r = res[name]
            print(f"{name:>16}: {r['asked']} questions, {r['clients']} client(s), {r['errors']} errors, "
                  f"p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, p99 {r['p99_ms']} ms, "
                  f"{r['throughput_qps']} q/s, hit@1 {r['hit@1']}")
    print(f"server RSS {res['rss_before_mb']} MB before, {res['rss_after_mb']} MB after "
          f"({res['rss_growth_pct']:+.2f}%); load average {res['load_before'][0]:.2f} before, "
          f"{res['load_after'][0]:.2f} after")
    for phase, qs in res["rss_quartiles_mb"].items():
        if qs:
            print(f"  RSS at each quarter of {phase}: {' / '.join(f'{q:.0f}' for q in qs)} MB")
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    return 0 if res["concurrent"]["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
