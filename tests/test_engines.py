"""Engines: the torch-free query path on ONNX Runtime, its converted files, and indexes of either engine."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.encoder.embedder import Embedder, choose_engine
from qa.encoder.export import CHECK, DATA, GRAPH, LAYOUT, STAMP, ensure_onnx, is_valid, onnx_dir, weight_bits
from qa.errors import QAError

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
BENCH = ROOT.parent / "shared" / "bench"
needs_bench = pytest.mark.skipif(not BENCH.is_dir(), reason="needs ../shared/bench beside the project")
QUESTION = "株洲市中心医院的党委书记是谁？"


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory) -> Path:
    """The seeds document that names the party secretary, alone."""
    folder = tmp_path_factory.mktemp("one-seed")
    shutil.copy(SEEDS / "002_af8fc51bc6101226.txt", folder)
    return folder


@pytest.mark.parametrize("via", ["ask", "serve"])
def test_asking_imports_no_torch(seeds_index, cache_dir, via):
    """`qa ask` (and the service behind serve, shell and mcp) answers with ONNX Runtime and tokenizers; torch,
    transformers and sentence-transformers stay out of the process."""
    folder = str(seeds_index.folder)
    if via == "ask":
        call = (f"try:\n    app(['ask', {QUESTION!r}, '--index', {folder!r}, '--json'])\n"
                "except SystemExit as e:\n    assert not e.code, e.code\n")
    else:
        call = (f"from pathlib import Path\nfrom qa.serving.service import Service\n"
                f"print(json.dumps(Service(Path({folder!r})).ask({QUESTION!r}), ensure_ascii=False))\n")
    code = (
        "import sys, json\n"
        "from qa.cli import app\n"
        + call +
        "bad = [m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules]\n"
        "print('LOADED', json.dumps(bad))\n"
    )
    env = {**os.environ, "QA_CACHE_DIR": str(cache_dir), "PYTHONPATH": str(ROOT)}
    env.pop("QA_ENGINE", None)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout[: res.stdout.rindex("LOADED")])
    assert out["answer"]["text"], out
    assert json.loads(res.stdout.split("LOADED", 1)[1]) == []


def test_onnx_encoder_agrees_with_torch(cache_dir):
    texts = ["株洲市中心医院的党委书记是谁？", "Hospitals serve the public.", "长城全长约两万一千公里，横跨中国北方。" * 40]
    onnx = Embedder(None, cache_dir=cache_dir, engine="onnx")
    torch = Embedder(None, cache_dir=cache_dir, engine="torch")
    for a, b in ((onnx.encode_queries(texts), torch.encode_queries(texts)),
                 (onnx.encode_passages(texts), torch.encode_passages(texts))):
        assert np.all(np.sum(a * b, axis=1) > 0.9999)
    assert onnx.count_tokens(texts[2]) == torch.count_tokens(texts[2]) > 512  # counted whole; the model reads 512
    assert onnx.key_name != torch.key_name  # vectors of one are never reused for the other


@needs_bench
def test_onnx_reader_agrees_with_torch(cache_dir):
    from transformers import AutoTokenizer

    from qa.encoder.model import ensure_default_model
    from qa.reader.model import Reader, context_of, make_windows

    corpus = {r["id"]: r for r in map(json.loads, (BENCH / "cmrc2018-trial" / "corpus.jsonl").open(encoding="utf-8"))}
    qs = [json.loads(line) for line in (BENCH / "cmrc2018-trial" / "questions.jsonl").open(encoding="utf-8")][:12]
    pairs = [(q["question"], corpus[q["gold"][0]]["title"], corpus[q["gold"][0]]["text"]) for q in qs]
    onnx = Reader(cache_dir=cache_dir, engine="onnx", precision="fp32")
    torch = Reader(cache_dir=cache_dir, engine="torch")
    torch.engine.bf16 = False  # float32 against float32: on a bf16 CPU torch would read in bf16
    for a, b in zip(onnx.read(pairs), torch.read(pairs)):
        assert (a.start, a.end) == (b.start, b.end)
        assert abs(a.score - b.score) < 1e-3 and abs(a.null - b.null) < 1e-3
    # windows cut by the tokenizers library alone are the ones transformers' tokenizer cuts
    contexts, starts = zip(*(context_of(p, t) for _, p, t in pairs))
    hf = AutoTokenizer.from_pretrained(str(ensure_default_model(cache_dir)))
    args = ([q for q, _, _ in pairs], list(contexts), list(starts), 96, 24)
    assert make_windows(hf, *args) == make_windows(onnx.tokenizer, *args)


def test_conversion_is_checked_and_redone(model_dir, tmp_path, caplog):
    base = tmp_path / "models" / model_dir.name
    base.parent.mkdir()
    base.symlink_to(model_dir, target_is_directory=True)
    folder = ensure_onnx(base)
    assert folder == onnx_dir(base, "encoder", "fp32") and folder.parent.parent == base.parent
    assert is_valid(folder) and {p.name for p in folder.iterdir()} == {GRAPH, DATA, CHECK, STAMP}
    assert not list(folder.parent.glob(".*tmp-*"))  # written aside and renamed into place

    # a half-written weights file is never loaded: it is converted again
    data = folder / DATA
    with data.open("r+b") as f:
        f.truncate(data.stat().st_size // 2)
    assert not is_valid(folder)
    assert is_valid(ensure_onnx(base))
    assert "converting the encoder to ONNX again" in caplog.text

    # one altered byte in the middle, and a folder written by an older qa, are converted again too
    with data.open("r+b") as f:
        f.seek(data.stat().st_size // 2)
        f.write(b"\xff\x00\xff")
    assert not is_valid(folder)
    ensure_onnx(base)
    check = json.loads((folder / CHECK).read_text())
    (folder / CHECK).write_text(json.dumps({**check, "layout": LAYOUT - 1}))
    assert not is_valid(folder)
    assert is_valid(ensure_onnx(base))


def test_a_file_onnx_runtime_cannot_load_is_a_one_line_error(tmp_path):
    from qa.encoder.onnx_runtime import session

    (tmp_path / GRAPH).write_bytes(b"not a model")
    with pytest.raises(QAError) as e:
        session(tmp_path)
    assert "\n" not in str(e.value) and "delete that folder" in str(e.value)


def test_missing_onnxruntime_is_a_one_line_error(monkeypatch):
    from qa.encoder.onnx_runtime import onnxruntime

    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(QAError) as e:
        onnxruntime()
    assert "\n" not in str(e.value) and "pip install onnxruntime" in str(e.value)


def test_engine_choice(monkeypatch):
    monkeypatch.delenv("QA_ENGINE", raising=False)
    assert choose_engine(None) == ("onnx", "float32")
    assert choose_engine(None, precision="bf16") == ("torch", "bfloat16")
    assert choose_engine("sentence-transformers/all-MiniLM-L6-v2") == ("torch", "float32")
    assert choose_engine(None, "onnx", "int8") == ("onnx", "int8")
    monkeypatch.setenv("QA_ENGINE", "torch")
    assert choose_engine(None) == ("torch", "float32")
    for bad in (dict(model="some/model", engine="onnx"), dict(model=None, engine="onnx", precision="bf16"),
                dict(model=None, engine="tpu")):
        with pytest.raises(QAError):
            choose_engine(**bad)


def test_index_built_with_torch_answers_with_onnx(small_corpus, cache_dir, tmp_path, caplog, monkeypatch):
    import logging

    from qa.api import Index

    monkeypatch.delenv("QA_ENGINE", raising=False)
    caplog.set_level(logging.INFO, logger="qa")
    folder = tmp_path / "idx"
    built = Index.build([small_corpus], folder, cache_dir=cache_dir, engine="torch", precision="float32")
    assert built.manifest["model"]["engine"] == "torch"
    assert built.embedder.engine == "onnx"  # questions go through ONNX Runtime all the same
    answer = built.ask(QUESTION, top_k=3)

    monkeypatch.setenv("QA_ENGINE", "torch")
    torch_side = Index.open(folder, cache_dir=cache_dir)
    assert torch_side.embedder.engine == "torch"
    dev = ["医院党委书记是谁？", "株洲市中心医院在哪里？", "结直肠肛门外科创建了什么学组？"]
    a, b = built.embed_questions(dev), torch_side.embed_questions(dev)
    assert np.all(np.sum(a * b, axis=1) > 0.9999)
    va = np.asarray(built.stored.vectors)
    assert [list(np.argsort(-va @ v)[:3]) for v in a] == [list(np.argsort(-va @ v)[:3]) for v in b]
    same = torch_side.ask(QUESTION, top_k=3)
    assert answer.answer.text == same.answer.text and answer.answer.text

    # re-indexing with the other engine embeds every passage again: no vectors cross engines
    monkeypatch.delenv("QA_ENGINE")
    caplog.clear()
    again = Index.build([small_corpus], folder, cache_dir=cache_dir, engine="onnx")
    assert again.manifest["model"]["engine"] == "onnx"
    assert " 0 reused" in caplog.text


@needs_bench
def test_the_int8_reader_reads_gold_paragraphs_as_well_as_fp32(cache_dir):
    from qa.evaluation.metrics import f1
    from qa.reader.model import Reader

    corpus = {r["id"]: r for r in map(json.loads, (BENCH / "cmrc2018-trial" / "corpus.jsonl").open(encoding="utf-8"))}
    qs = [json.loads(line) for line in (BENCH / "cmrc2018-trial" / "questions.jsonl").open(encoding="utf-8")][:40]
    pairs = [(q["question"], corpus[q["gold"][0]]["title"], corpus[q["gold"][0]]["text"]) for q in qs]
    assert Reader(cache_dir=cache_dir).engine.precision == "fp32"  # the default: the judgement is calibrated on it
    scores = {}
    for precision in ("fp32", "int8"):
        reader = Reader(cache_dir=cache_dir, engine="onnx", precision=precision)
        spans = reader.read(pairs)
        scores[precision] = sum(f1(p[2][s.start:s.end], q["answers"]) for p, s, q in zip(pairs, spans, qs)) / len(qs)
    # the converted folder says how many bits its weights kept, and it is the number this CPU calls for
    assert json.loads((reader.engine.folder / CHECK).read_text(encoding="utf-8"))["weight_bits"] == weight_bits()
    # measured on 300 questions: F1 72.4 fp32, 72.9 int8 (8-bit weights); on 40 the two stay within a few points
    assert scores["int8"] >= scores["fp32"] - 0.03 and scores["fp32"] > 0.6


def test_int8_weights_keep_eight_bits_only_where_the_cpu_has_vnni(monkeypatch, tmp_path):
    import qa.encoder.cpu as cpu

    base = tmp_path / "multilingual-e5-small-x"
    int8, fp32 = {}, set()
    for flags, bits in ((frozenset({"avx2", "fma"}), 7), (frozenset({"avx2", "avx512_vnni"}), 8),
                        (frozenset({"avx_vnni"}), 8), (frozenset({"amx_int8"}), 8), (frozenset(), 7)):
        monkeypatch.setattr(cpu, "cpu_flags", lambda flags=flags: flags)
        assert weight_bits() == bits
        int8.setdefault(bits, set()).add(onnx_dir(base, "reader", "int8", "k"))
        fp32.add(onnx_dir(base, "reader", "fp32", "k"))
    # one folder for each bit width, so a cache shared by two CPUs keeps the two forms apart;
    # float32 does not depend on the CPU
    assert len(int8[7]) == len(int8[8]) == 1 and int8[7] != int8[8] and len(fp32) == 1
    monkeypatch.undo()
    # on this machine the flags come from /proc/cpuinfo, as lscpu shows them
    on_this_cpu = {"avx512_vnni", "avx_vnni", "amx_int8"} & set(Path("/proc/cpuinfo").read_text().split())
    assert weight_bits() == (8 if on_this_cpu else 7)


def test_an_unknown_reader_precision_is_a_one_line_error(seeds_index, cache_dir):
    env = {**os.environ, "QA_CACHE_DIR": str(cache_dir), "QA_READER_PRECISION": "int9"}
    proc = subprocess.run([sys.executable, "-m", "qa.cli", "ask", "株洲市中心医院的党委书记是谁？", "--index",
                           str(seeds_index.folder)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    # (a first use may say before it that the encoder was converted)
    assert proc.stderr.strip().splitlines()[-1] == "error: unknown reader precision 'int9': use fp32 or int8"
    assert sum(line.startswith("error:") for line in proc.stderr.splitlines()) == 1
