"""Every command on real data: index, ask, batch (all input and output formats), eval, and user errors."""

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from qa.cli import app
from qa.encoder.embedder import choose_engine

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
DEV = Path(__file__).resolve().parent / "data" / "seeds-dev.jsonl"
runner = CliRunner()

Q_DEPUTY = "株洲市妇幼保健院的党委专职副书记是谁？"


def run(args, env, input=None):
    return runner.invoke(app, [str(a) for a in args], env=env, input=input)


def test_ask_cites_the_right_passage(seeds_index, cli_env):
    res = run(["ask", Q_DEPUTY, "--index", seeds_index.folder, "--json"], cli_env)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert set(out) >= {"id", "question", "passages", "abstained"}
    top = out["passages"][0]
    assert set(top) >= {"rank", "score", "doc", "paragraph", "start", "end", "line", "text", "sentence"}
    assert top["doc"] == "000_c13455d065a0bfbb.txt" and "党委专职副书记邓顺钢" in top["text"]
    source = (SEEDS / top["doc"]).read_text(encoding="utf-8")
    assert source[top["start"]:top["end"]] == top["text"]
    assert source.count("\n", 0, top["start"]) + 1 == top["line"]
    assert top["sentence"] in top["text"] and "邓顺钢" in top["sentence"]
    assert source[top["sentence_start"]:top["sentence_end"]] == top["sentence"]


def test_ask_text_output_marks_the_sentence(seeds_index, cli_env):
    res = run(["ask", Q_DEPUTY, "--index", seeds_index.folder, "-k", "2"], cli_env)
    assert res.exit_code == 0, res.output
    assert "[1]" in res.stdout and "[2]" in res.stdout and "[3]" not in res.stdout
    assert "000_c13455d065a0bfbb.txt ¶" in res.stdout and ", line " in res.stdout and ", chars " in res.stdout
    assert "**" in res.stdout and "邓顺钢" in res.stdout


def test_ask_abstains_on_a_question_the_seeds_cannot_answer(seeds_index, cli_env):
    q = "株洲市二医院2022年全年的门诊量是多少人次？"
    res = run(["ask", q, "--index", seeds_index.folder, "--json"], cli_env)
    out = json.loads(res.stdout)
    assert out["abstained"] is True and out["passages"] == []
    shown = json.loads(run(["ask", q, "--index", seeds_index.folder, "--json", "--show-all"], cli_env).stdout)
    assert shown["abstained"] is True and len(shown["passages"]) == 5
    text = run(["ask", q, "--index", seeds_index.folder], cli_env)
    assert "No passage in the index answers this question" in text.stdout


@pytest.mark.parametrize("question", ["", "   ", "？！。…", "?!"])
def test_unusable_question_is_one_line_error(seeds_index, cli_env, question):
    res = run(["ask", question, "--index", seeds_index.folder], cli_env)
    assert res.exit_code == 1
    assert res.stderr.strip().startswith("error:") and len(res.stderr.strip().splitlines()) == 1
    assert "Traceback" not in res.output


def test_missing_index_and_other_model_are_clear_errors(seeds_index, cli_env, tmp_path):
    res = run(["ask", "谁是院长？", "--index", tmp_path / "none"], cli_env)
    assert res.exit_code == 1 and "qa index" in res.stderr
    res = run(["ask", "谁是院长？", "--index", seeds_index.folder, "--model", "sentence-transformers/LaBSE"], cli_env)
    assert res.exit_code == 1 and "built with model 'multilingual-e5-small'" in res.stderr


def write_questions(tmp_path):
    txt = tmp_path / "q.txt"
    txt.write_text("# seeds questions\n\n株洲市中心医院的党委书记是谁？\n荆州一医在清廉医院建设中探索了什么规范约束机制？\n",
                   encoding="utf-8")
    jsonl = tmp_path / "q.jsonl"
    jsonl.write_text('{"id": "a", "question": "株洲市中心医院的党委书记是谁？"}\n'
                     '{"id": "b", "question": ""}\n'
                     'not json at all\n'
                     '{"id": "c", "question": "荆州一医在清廉医院建设中探索了什么规范约束机制？"}\n', encoding="utf-8")
    csvf = tmp_path / "q.csv"
    csvf.write_text("id,question\nx,株洲市中心医院的党委书记是谁？\ny,荆州一医在清廉医院建设中探索了什么规范约束机制？\n",
                    encoding="utf-8")
    return txt, jsonl, csvf


def test_batch_reads_txt_jsonl_csv_and_stdin(seeds_index, cli_env, tmp_path):
    txt, jsonl, csvf = write_questions(tmp_path)
    res = run(["batch", txt, "--index", seeds_index.folder], cli_env)
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["3", "4"]
    assert "党委书记张志勇" in rows[0]["passages"][0]["text"] or any(
        "党委书记张志勇" in p["text"] for p in rows[0]["passages"][:5])
    assert any("三权两力" in p["text"] for p in rows[1]["passages"][:5])

    res = run(["batch", csvf, "--index", seeds_index.folder], cli_env)
    assert res.exit_code == 0 and [json.loads(x)["id"] for x in res.stdout.splitlines()] == ["x", "y"]

    res = run(["batch", "-", "--index", seeds_index.folder], cli_env, input=txt.read_text(encoding="utf-8"))
    assert res.exit_code == 0 and len(res.stdout.splitlines()) == 2

    # a bad line gets an error entry, the rest is answered, and the exit status says so
    res = run(["batch", jsonl, "--index", seeds_index.folder], cli_env)
    assert res.exit_code == 1
    rows = {r["id"]: r for r in map(json.loads, res.stdout.splitlines())}
    assert set(rows) == {"a", "b", "c", "line 3"}
    assert rows["b"]["error"] and rows["line 3"]["error"]
    assert rows["a"]["passages"] and rows["c"]["passages"] and "error" not in rows["a"]


def test_batch_writes_csv_and_md_files_and_resumes(seeds_index, cli_env, tmp_path):
    txt, _, _ = write_questions(tmp_path)
    out_csv = tmp_path / "out.csv"
    assert run(["batch", txt, "--index", seeds_index.folder, "-o", out_csv, "-k", "3"], cli_env).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text(encoding="utf-8"))))
    assert len(rows) == 6 and rows[0]["doc"] and rows[0]["sentence"] in rows[0]["text"]
    out_md = tmp_path / "out.md"
    assert run(["batch", txt, "--index", seeds_index.folder, "-o", out_md], cli_env).exit_code == 0
    md = out_md.read_text(encoding="utf-8")
    assert md.count("## ") == 2 and "¶" in md and "**" in md

    out = tmp_path / "out.jsonl"
    first = tmp_path / "first.txt"
    first.write_text("株洲市中心医院的党委书记是谁？\n", encoding="utf-8")
    assert run(["batch", first, "--index", seeds_index.folder, "-o", out], cli_env).exit_code == 0
    both = tmp_path / "both.txt"
    both.write_text("株洲市中心医院的党委书记是谁？\n荆州一医的院长是谁？\n", encoding="utf-8")
    res = run(["batch", both, "--index", seeds_index.folder, "-o", out, "--resume"], cli_env)
    assert res.exit_code == 0 and "skipped 1 already answered" in res.stderr
    assert [json.loads(x)["id"] for x in out.read_text(encoding="utf-8").splitlines()] == ["1", "2"]


def test_eval_scores_every_mode(seeds_index, cli_env):
    res = run(["eval", DEV, "--index", seeds_index.folder, "--json", "--limit", "6"], cli_env)
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert set(report["modes"]) == {"dense", "bm25", "hybrid"}
    hybrid = report["modes"]["hybrid"]
    assert hybrid["all"]["questions"] == 6 and 0 <= hybrid["all"]["hit@5"] <= 1
    # MRR@10 counts a first hit at rank 1 fully and one further down at most half
    h1, mrr = hybrid["all"]["hit@1"], hybrid["all"]["mrr@10"]
    assert h1 <= mrr <= h1 + (1 - h1) / 2
    assert set(hybrid["by_language"]) == {"en", "zh"}
    # and by question language > answering passages' language (the seeds are Chinese)
    pairs = hybrid["by_passage_language"]
    assert set(pairs) <= {"en>zh", "zh>zh", "en>none", "zh>none"} and {"en>zh", "zh>zh"} <= set(pairs)
    assert sum(p["questions"] for p in pairs.values()) == 6


def test_index_command_builds_and_reuses(tmp_path, cli_env):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("荆州一医的院长是李茂坤。\n\n荆州一医有33个党支部。\n", encoding="utf-8")
    (corpus / "notes.bin").write_bytes(b"\x00\x01\x02")
    idx = tmp_path / "idx"
    res = run(["index", corpus, "--index", idx], cli_env)
    assert res.exit_code == 0, res.output
    assert "indexed 2 passages from 1 files" in res.stderr and "skipped 1" in res.stderr
    assert "\r" not in res.stderr  # no terminal here: no bar redrawn over itself
    manifest = json.loads(next(idx.glob("gen-*/manifest.json")).read_text(encoding="utf-8"))
    engine, precision = choose_engine(None, indexing=True)  # onnx float32, or torch bfloat16 on a bf16 CPU
    assert manifest["model"] == {"name": "multilingual-e5-small", "dim": 384, "precision": precision,
                                 "engine": engine}
    assert manifest["sources"][0]["name"] == "a.txt" and len(manifest["sources"][0]["sha256"]) == 64
    res = run(["ask", "荆州一医有多少个党支部？", "--index", idx, "--json", "--show-all"], cli_env)
    assert "33个党支部" in json.loads(res.stdout)["passages"][0]["text"]
    res = run(["index", corpus, "--index", idx], cli_env)
    assert res.exit_code == 0 and "up to date: 2 passages from 1 files" in res.stderr

    res = run(["index", tmp_path / "missing", "--index", idx], cli_env)
    assert res.exit_code == 1
    assert res.stderr.splitlines()[-1].startswith("error: nothing to index")
    assert res.stderr.splitlines()[0].startswith("warning: skipped") and "no such file" in res.stderr


def test_entry_point_runs_as_a_program(seeds_index, cli_env):
    proc = subprocess.run([sys.executable, "-m", "qa.cli", "ask", "荆州一医的院长是谁？", "--index",
                           str(seeds_index.folder), "--json"], capture_output=True, text=True, env=cli_env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert any("院长李茂坤" in p["text"] for p in out["passages"])


def test_index_in_bf16_is_asked_in_float32_and_finds_the_same_passage(tmp_path, cli_env):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    seed = next(p for p in sorted(SEEDS.glob("*.txt")) if p.name.startswith("003_"))  # 荆州一医
    (corpus / seed.name).write_bytes(seed.read_bytes())
    answers = {}
    for precision in ("float32", "bf16"):
        idx = tmp_path / f"idx-{precision}"
        res = run(["index", corpus, "--index", idx, "--precision", precision, "-q"], cli_env)
        assert res.exit_code == 0, res.output
        manifest = json.loads(next(idx.glob("gen-*/manifest.json")).read_text(encoding="utf-8"))
        assert manifest["model"]["precision"] == {"float32": "float32", "bf16": "bfloat16"}[precision]
        assert manifest["model"]["engine"] == {"float32": "onnx", "bf16": "torch"}[precision]
        res = run(["ask", "荆州一医全面推行“支部建在科室”，医院一共有多少个党支部？", "--index", idx, "--json"], cli_env)
        answers[precision] = json.loads(res.stdout)["passages"][0]
    assert "33个党支部" in answers["bf16"]["text"]
    assert answers["bf16"]["paragraph"] == answers["float32"]["paragraph"]
    # bf16 vectors are unit length like float32's (their norms were 0.1-0.3% off, which reordered near-ties)
    vecs = {p: np.load(next((tmp_path / f"idx-{p}").glob("gen-*/vectors.npy"))).astype(np.float32)
            for p in ("float32", "bf16")}
    assert np.abs(np.linalg.norm(vecs["bf16"], axis=1) - 1.0).max() < 1e-5
    assert float(np.mean(np.sum(vecs["bf16"] * vecs["float32"], axis=1))) > 0.9999
    # the same files at another precision are a change: the index is rebuilt
    res = run(["index", corpus, "--index", tmp_path / "idx-bf16", "--precision", "float32", "-q"], cli_env)
    assert res.exit_code == 0 and "up to date" not in res.stderr
    res = run(["index", corpus, "--index", tmp_path / "idx-x", "--precision", "int3"], cli_env)
    assert res.exit_code == 1 and res.stderr.strip() == "error: unknown precision 'int3': use float32, bf16 or int8"


def test_progress_away_from_a_terminal_is_whole_lines_once_each():
    import io

    from qa.index.progress import LineProgress, passage_progress

    log = io.StringIO()
    assert isinstance(passage_progress(True, log), LineProgress) and passage_progress(False, log) is None
    bar = LineProgress(log, every=0.0, delay=0.0)
    for _ in range(3):
        bar.update(100)
    bar.close()
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and log.getvalue().endswith("\n")
    assert [ln.split(" passages")[0] for ln in lines] == ["Passages: 100", "Passages: 200", "Passages: 300"]
    assert all(ln.count("Passages:") == 1 for ln in lines)
