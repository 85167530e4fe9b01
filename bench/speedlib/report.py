"""The printed report of bench/speed.py: its figures as plain-text tables."""

from __future__ import annotations

from typing import Any


def table(rows: list[list[str]]) -> str:
    """Left-aligned columns under a header row and a rule."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def indexing_section(indexing: dict[str, Any]) -> list[str]:
    out: list[str] = []
    rows = [["corpus", "passages", "chars", "raw encode p/s", "build p/s", "build chars/s", "build/raw",
             "build/(load+raw)", "rounds", "build s", "rebuild s", "rebuild speed-up", "re-embedded"]]
    for name, r in indexing.items():
        rows.append([name, str(r["passages"]), str(r["chars"]), f"{r['raw_passages_per_s']:.1f}",
                     f"{r['build_passages_per_s']:.1f}", f"{r['build_chars_per_s']:.0f}",
                     f"{r['build_over_raw']:.2f}x", f"{r['build_over_raw_with_load']:.2f}x", str(r["rounds"]),
                     f"{r['build_s']:.1f}", f"{r['rebuild_s']:.2f}",
                     f"{r['rebuild_speedup']:.1f}x", str(r["rebuild_embedded"])])
    out += ["", "Indexing (Index.build vs SentenceTransformer.encode of the same texts)", table(rows)]
    for name, r in indexing.items():
        if r["rounds"] > 1:
            each = ", ".join(f"{a:.2f}x/{b:.2f}x" for a, b in zip(r["build_over_raw_each"],
                                                                 r["build_over_raw_with_load_each"]))
            out.append(f"  {name} build/raw and build/(load+raw) by round (medians above): {each}")
        for key in ("build_phases_s", "rebuild_phases_s"):
            phases = ", ".join(f"{k} {v:.2f}s" for k, v in sorted(r[key].items(), key=lambda kv: -kv[1]))
            out.append(f"  {name} {key[:-9]}: {phases}")
    return out


def questions_section(res: dict[str, Any]) -> list[str]:
    out: list[str] = []
    q, p = res["questions"], res.get("processes", {})
    rows = [["measure", "value"],
            ["warm ask with the reader p50 / p95", f"{q['reader_ask_p50_ms']:.1f} / {q['reader_ask_p95_ms']:.1f} ms"],
            [f"ask_many with the reader ({q['batch_questions']} questions)", f"{q['reader_batch_q_per_s']:.1f} q/s"],
            ["the same, reading every chosen passage: ask p50 / ask_many",
             f"{q['reader_every_ask_p50_ms']:.1f} ms / {q['reader_every_batch_q_per_s']:.1f} q/s"],
            ["warm ask --no-reader p50 / p95", f"{q['ask_p50_ms']:.1f} / {q['ask_p95_ms']:.1f} ms"],
            ["  of which: encode query p50", f"{q['encode_query_p50_ms']:.1f} ms"],
            ["  retrieve (hybrid) p50", f"{q['search_p50_ms']:.1f} ms"],
            ["  compose answer p50 / p95", f"{q['compose_p50_ms']:.1f} / {q['compose_p95_ms']:.1f} ms"],
            [f"ask_many --no-reader ({q['batch_questions']} questions)", f"{q['batch_q_per_s']:.1f} q/s"],
            [f"English ask --no-reader p50 ({q['english_questions']} seeds-qa questions)", f"{q['english_ask_p50_ms']:.1f} ms"]]
    if p:
        rows += [["cold `qa ask` (new process)", f"{p['ask_cold_s']:.2f} s (peak RSS {p['ask_cold_maxrss_mb']:.0f} MB)"],
                 ["`qa --help`", (f"{p['help_s']:.2f} s (torch imported: {p['help_imports_torch']}, "
                                 f"{p['help_modules']} modules)")]]
    rows.append(["peak RSS of this process after QA part", f"{res['maxrss_after_qa_mb']:.0f} MB"])
    out += ["", "Questions on the cmrc index", table(rows)]
    return out


def server_section(sv: dict[str, Any]) -> list[str]:
    return ["", "`qa ask --server` on the seeds index, beside a cold `qa ask` (median of "
            f"{len(sv['server_ask_s_all'])}, alternated; load average {sv['load']:.2f})",
            table([["measure", "wall", "peak RSS"],
                   ["`qa ask --server URL`", f"{sv['server_ask_s']:.2f} s", f"{sv['server_ask_maxrss_mb']:.0f} MB"],
                   ["cold `qa ask --index`", f"{sv['cold_ask_s']:.2f} s", f"{sv['cold_ask_maxrss_mb']:.0f} MB"],
                   ["same output", str(sv["same_output"]), ""]])]


def precision_section(pr: dict[str, Any]) -> list[str]:
    out = ["", (f"Precision ({pr['passages']} seed passages): float32 {pr['float32_passages_per_s']:.1f} p/s, "
                f"bfloat16 {pr['bfloat16_passages_per_s']:.1f} p/s; cosine f32 vs bf16 "
                f"mean {pr['cosine_f32_bf16_mean']:.4f}, min {pr['cosine_f32_bf16_min']:.4f}")]
    metrics = ["hit@1", "hit@5", "sentence_hit@1", "abstained_wrongly", "abstained_rightly"]
    rows = [["precision", "mode", *metrics]]
    for p in ("float32", "bfloat16"):
        for mode, m in pr[f"{p}_eval"].items():
            rows.append([p, mode, *[str(m.get(k)) for k in metrics]])
    out += ["seeds dev set (tests/data/seeds-dev.jsonl) on a seeds index built at each precision", table(rows)]
    return out


def faiss_section(f: dict[str, Any]) -> list[str]:
    out: list[str] = []
    ths = sorted({1, f["omp_max_threads"]})
    head = ["index", "params", "recall@10", "build s", "RSS MB", "file MB"]
    for th in ths:
        head += [f"p50 k10 {th}t ms", f"p50 k100 {th}t ms"]
    rows = [head]
    for r in f["rows"]:
        params = " ".join(f"{k}={r[k]}" for k in ("M", "efConstruction", "efSearch", "nlist", "nprobe") if k in r)
        row = [r["index"] + (" (sweep)" if r.get("sweep") else ""), params or "-", f"{r['recall@10']:.4f}",
               f"{r['build_s']:.1f}", f"{r['rss_growth_mb']:.0f}", f"{r['bytes'] / 2**20:.0f}"]
        for th in ths:
            row += [f"{r[f'p50_k10_ms_t{th}']:.3f}", f"{r[f'p50_k100_ms_t{th}']:.3f}"]
        rows.append(row)
    out += ["", (f"FAISS, {f['n']:,} synthetic {f['dim']}-dim unit vectors (Gaussian mixture), "
                f"{f['queries']} held-out queries; auto picks {f['auto_index_type']}"), table(rows)]
    if f.get("flat_p50_ms_by_n"):
        out.append("  flat p50 (1 thread, k=100) by size: " + ", ".join(
            f"{int(m):,}: {v:.2f} ms" for m, v in f["flat_p50_ms_by_n"].items()))
    return out


def report(res: dict[str, Any]) -> str:
    out = [f"machine: {res['machine']}"]
    if "indexing" in res:
        out += indexing_section(res["indexing"])
    if "questions" in res:
        out += questions_section(res)
    if "server" in res:
        out += server_section(res["server"])
    if "precision" in res:
        out += precision_section(res["precision"])
    if "engines" in res or "embedding" in res:
        from speedlib.engines import engines_section

        out += engines_section(res)
    if "verifier" in res:
        from speedlib.judge import verifier_section

        out += verifier_section(res["verifier"])
    for f in res.get("faiss", []):
        out += faiss_section(f)
    out.append(f"\npeak RSS of this process: {res['maxrss_mb']:.0f} MB; total {res['total_s']:.0f} s")
    return "\n".join(out)

