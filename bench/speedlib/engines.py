"""The engine part of bench/speed.py: torch against ONNX Runtime, side by side in one run.

Each engine's cold `qa ask` (reader on), warm ask with and without the reader, ask_many, `qa batch` with its
start-up, the peak RSS of `qa serve` after a few questions, and passages a second when indexing. Query-side
figures come from child processes that differ only in QA_ENGINE (and, for onnx-int8, QA_READER_PRECISION=int8:
the reader in int8), run alternately so all meet the same load.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from speedlib.common import ROOT, child_env, cold_ask_cmd, load_questions, now, run_child

ENGINES = ("torch", "onnx", "onnx-int8")  # onnx-int8: ONNX Runtime with the reader in int8

# A child that opens the index, warms up, then times asks (with and without the reader) and ask_many.
_WARM = """
import json, sys, time
from qa.api import Index
folder, qfile, n, many = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
qs = [json.loads(l)["question"] for l in open(qfile, encoding="utf-8") if l.strip()][: n + many]
idx = Index.open(folder)
for q in qs[:3]:
    idx.ask(q)
getattr(idx.reader, "forget", lambda: None)()
plain, read = [], []
for q in qs[:n]:
    t0 = time.perf_counter(); idx.ask(q, reader=False); t1 = time.perf_counter(); idx.ask(q)
    plain.append(t1 - t0); read.append(time.perf_counter() - t1)
t0 = time.perf_counter(); idx.ask_many(qs[n:n + many]); t_many = time.perf_counter() - t0
mods = [m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules]
print(json.dumps({"plain": plain, "read": read, "many_s": t_many, "many": len(qs[n:n + many]), "modules": mods}))
"""


def _engine_vars(engine: str) -> dict[str, str]:
    return {"QA_ENGINE": engine.split("-")[0], "QA_READER_PRECISION": "int8" if engine.endswith("-int8") else "fp32"}


def _env(engine: str) -> dict[str, str]:
    env = child_env() | _engine_vars(engine)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _ms(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return round(1000 * xs[min(len(xs) - 1, int(q * len(xs)))], 1) if xs else float("nan")


def bench_engines(seeds_index: Path, cmrc_index: Path, questions_file: Path, question: str,
                  quick: bool) -> dict[str, Any]:
    """Query-side figures per engine, measured alternately in child processes."""
    runs = 2 if quick else 3
    n, many, batch_n = (20, 50, 100) if quick else (100, 500, 2000)
    out: dict[str, Any] = {e: {"cold_ask_s_all": [], "batch_s_all": []} for e in ENGINES}
    with tempfile.TemporaryDirectory(prefix="qa-engines-") as tmp:
        qfile = Path(tmp) / "batch.txt"
        qfile.write_text("\n".join(load_questions(questions_file, batch_n)) + "\n", encoding="utf-8")
        for e in ENGINES:  # converts the ONNX files once, outside the timings
            run_child(cold_ask_cmd(seeds_index, question), _env(e))
        for _ in range(runs):
            for e in ENGINES:
                wall, rss, code, stdout = run_child(cold_ask_cmd(seeds_index, question), _env(e))
                out[e]["cold_ask_s_all"].append(round(wall, 3))
                out[e]["cold_ask_maxrss_mb"] = round(rss)
                out[e]["cold_ask_ok"] = code == 0 and out[e].get("cold_ask_ok", True)
                if code == 0:
                    out[e]["answer"] = (json.loads(stdout).get("answer") or {}).get("text")
        for e in ENGINES:
            wall, rss, code, _ = run_child([sys.executable, "-m", "qa.cli", "batch", str(qfile), "--index",
                                            str(cmrc_index), "-o", str(Path(tmp) / f"out-{e}.jsonl")], _env(e))
            out[e]["batch_questions"] = batch_n
            out[e]["batch_s_all"].append(round(wall, 2))
            out[e]["batch_q_per_s"] = round(batch_n / wall, 1)
            out[e]["batch_ok"] = code in (0, 1)
        for e in ENGINES:
            _, rss, code, stdout = run_child([sys.executable, "-c", _WARM, str(cmrc_index), str(questions_file),
                                              str(n), str(many)], _env(e))
            if code != 0:
                out[e]["warm_error"] = True
                continue
            w = json.loads(stdout.strip().splitlines()[-1])
            out[e].update({
                "warm_no_reader_p50_ms": _ms(w["plain"], 0.5), "warm_no_reader_p95_ms": _ms(w["plain"], 0.95),
                "warm_reader_p50_ms": _ms(w["read"], 0.5), "warm_reader_p95_ms": _ms(w["read"], 0.95),
                "ask_many_q_per_s": round(w["many"] / w["many_s"], 1), "warm_maxrss_mb": round(rss),
                "imports_torch": bool(w["modules"]),
            })
    for e in ENGINES:
        out[e]["cold_ask_s"] = round(statistics.median(out[e]["cold_ask_s_all"]), 3)
    out["load"] = os.getloadavg()[0]
    return out


def bench_serve_rss(seeds_index: Path, question: str) -> dict[str, Any]:
    """Peak RSS of `qa serve` on the seeds index after a few questions, per engine, one after the other."""
    sys.path.insert(0, str(ROOT / "bench"))
    from load import Served

    out: dict[str, Any] = {}
    saved = {k: os.environ.get(k) for k in ("QA_ENGINE", "QA_READER_PRECISION")}
    try:
        for e in ENGINES:
            os.environ.update(_engine_vars(e))
            server = Served(seeds_index)
            try:
                cmd = [sys.executable, "-m", "qa.cli", "ask", question, "--server", server.url, "--json"]
                for _ in range(3):
                    run_child(cmd, _env(e))
                out[e] = {"serve_peak_rss_mb": round(_rss_mb(server.proc.pid))}
            finally:
                server.stop()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return out


def _rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a running process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_embedding(texts: list[str], cache_dir: Path | None) -> dict[str, Any]:
    """Passages a second of each engine and precision, alternated twice; cosine of each to torch float32."""
    import numpy as np

    from qa.encoder.cpu import bf16_is_native
    from qa.encoder.embedder import Embedder

    specs = [("torch", "float32"), ("onnx", "float32"), ("onnx", "int8")]
    if bf16_is_native():
        specs.append(("torch", "bfloat16"))
    embedders = {f"{e}-{p}": Embedder(None, cache_dir=cache_dir, precision=p, engine=e) for e, p in specs}
    for emb in embedders.values():
        emb.load()
        emb.encode_passages(texts[:4])
    secs: dict[str, list[float]] = {k: [] for k in embedders}
    vecs = {}
    for _ in range(2):
        for k, emb in embedders.items():
            t0 = now()
            vecs[k] = emb.encode_passages(texts)
            secs[k].append(now() - t0)
    ref = vecs["torch-float32"]
    return {k: {"passages_per_s": round(len(texts) / min(s), 2),
                "cosine_to_torch_float32": round(float(np.mean(np.sum(vecs[k] * ref, axis=1))), 5)}
            for k, s in secs.items()} | {"passages": len(texts), "load": os.getloadavg()[0]}


def engines_section(res: dict[str, Any]) -> list[str]:
    """The engine figures as text, with each ONNX figure's ratio to torch's beside it."""
    from speedlib.report import table

    out: list[str] = []
    q = res.get("engines")
    if q:
        keys = [("cold_ask_s", "cold qa ask, s", False), ("warm_reader_p50_ms", "warm ask + reader p50, ms", False),
                ("warm_no_reader_p50_ms", "warm ask, no reader p50, ms", False),
                ("ask_many_q_per_s", "ask_many, q/s", True), ("batch_q_per_s", "qa batch incl. start-up, q/s", True),
                ("cold_ask_maxrss_mb", "cold ask peak RSS, MB", False)]
        others = [e for e in ENGINES if e != "torch" and e in q]
        rows = [["figure", "torch", *others, *(f"{e} vs torch" for e in others)]]
        for k, label, higher in keys:
            t = q["torch"].get(k)
            vals = [q[e].get(k) for e in others]
            ratios = [(o / t if higher else t / o) if t and o else float("nan") for o in vals]
            word = "faster" if k != "cold_ask_maxrss_mb" else "less"
            rows.append([label, str(t), *map(str, vals), *(f"{r:.2f}x {word}" for r in ratios)])
        answers = ", ".join(f"{e} {q[e].get('answer')!r}" for e in ("torch", *others))
        imports = ", ".join(f"{e} {q[e].get('imports_torch')}" for e in others)
        out += ["", f"Engines, questions (load {q['load']:.1f}; answers: {answers}; imports torch: {imports})",
                table(rows)]
    s = res.get("serve_rss")
    if s:
        out.append("qa serve peak RSS after 3 questions: " + ", ".join(f"{e} {v.get('serve_peak_rss_mb')} MB"
                                                                      for e, v in s.items()))
    e = res.get("embedding")
    if e:
        rows = [["engine", "passages/s", "vs torch-float32", "cosine to torch-float32"]]
        base = e["torch-float32"]["passages_per_s"]
        for k, v in e.items():
            if isinstance(v, dict):
                rows.append([k, str(v["passages_per_s"]), f"{v['passages_per_s'] / base:.2f}x",
                             str(v["cosine_to_torch_float32"])])
        out += ["", f"Engines, embedding {e['passages']} seeds passages (load {e['load']:.1f})", table(rows)]
    return out
