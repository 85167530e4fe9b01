"""Failure safety: bad input through the CLI, killed and concurrent index builds, damaged indexes,
and property tests of decoding, reading and paragraph offsets."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from qa.documents import Document, Unreadable, decode, read_paths
from qa.documents.paragraphs import split_passages
from qa.errors import QAError
from qa.index import store

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "000_c13455d065a0bfbb.txt"
QUESTION = "公立医院健康发展的根和魂是什么？"
FAST = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


# -- running the CLI ------------------------------------------------------------------------------

def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(COLUMNS="400", NO_COLOR="1", TERM="dumb", PYTHONUNBUFFERED="1")
    return env


def qa(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qa.cli", *args], cwd=ROOT, env=cli_env(),
                          capture_output=True, text=True, timeout=timeout)


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def assert_clean_failure(run: subprocess.CompletedProcess, message: str) -> None:
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr and "Traceback" not in run.stdout
    errors = [ln for ln in run.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1, run.stderr
    assert message in flat(run.stderr), run.stderr


def write_bad_files(folder: Path) -> dict[str, str]:
    """One file of each kind that must be skipped, with the reason it must be skipped for."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (folder / "undecodable.md").write_bytes(bytes(range(0x80, 0x100)))
    (folder / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<")
    (folder / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    (folder / "bad.jsonl").write_text("not json\n", encoding="utf-8")
    return {
        "empty.txt": "empty file",
        "binary.txt": "binary file, not text",
        "undecodable.md": "unknown text encoding",
        "old.doc": "unsupported format '.doc': save it as .docx",
        "broken.pdf": "not a readable PDF",
        "broken.docx": "not a readable .docx file",
        "bad.jsonl": "line 1 is not a",
    }


def test_cli_index_of_only_bad_files_fails_cleanly(tmp_path):
    reasons = write_bad_files(tmp_path / "bad")
    missing = tmp_path / "missing"
    run = qa("index", str(tmp_path / "bad"), str(missing), "--index", str(tmp_path / "idx"))
    assert_clean_failure(run, "error: nothing to index: no readable text in")
    err = flat(run.stderr)
    for name, reason in reasons.items():
        assert f"skipped {tmp_path / 'bad' / name}: {reason}" in err
    assert f"skipped {missing}: no such file or folder" in err
    assert not (tmp_path / "idx" / "CURRENT").exists()


def test_cli_index_of_a_missing_path_fails_cleanly(tmp_path):
    run = qa("index", str(tmp_path / "nowhere.txt"), "--index", str(tmp_path / "idx"))
    assert_clean_failure(run, f"nothing to index: no readable text in {tmp_path / 'nowhere.txt'}")


def test_cli_ask_without_an_index_names_qa_index(tmp_path):
    run = qa("ask", "问题", "--index", str(tmp_path / "none"))
    assert_clean_failure(run, f"no index in {tmp_path / 'none'}: build one with `qa index PATH --index")


def test_cli_index_into_a_file_fails_cleanly(tmp_path):
    (tmp_path / "a.txt").write_text("第一段文字，用来建立索引。", encoding="utf-8")
    (tmp_path / "taken").write_text("a file, not a folder", encoding="utf-8")
    run = qa("index", str(tmp_path / "a.txt"), "--index", str(tmp_path / "taken"))
    assert_clean_failure(run, f"cannot write an index in {tmp_path / 'taken'}")


# -- a small real index, built once through the CLI -----------------------------------------------

@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    from test_readers import make_docx, make_pdf

    folder = tmp_path_factory.mktemp("corpus")
    text = SEED.read_text(encoding="utf-8")
    (folder / "seed.txt").write_text(text[:1500], encoding="utf-8")
    (folder / "gbk.md").write_bytes("# 河流\n\n第二段讲河流，流向大海，一路经过很多城市。\n".encode("gbk"))
    (folder / "page.html").write_text(
        "<html><body><nav>首页 新闻 联系我们</nav><article><h1>春天</h1><p>春天的天气很暖和，常常下雨。</p>"
        "</article><footer>版权所有</footer></body></html>", encoding="utf-8")
    (folder / "book.pdf").write_bytes(make_pdf([["The orchard has apple trees, pear trees and plums."], [],
                                                ["Rivers flow to the sea, carrying the rain."]]))
    (folder / "note.docx").write_bytes(make_docx(lambda d: d.add_paragraph("会议记录：下周一开会，讨论预算。")))
    return folder


@pytest.fixture(scope="module")
def extra(tmp_path_factory) -> Path:
    """A second file: a build over corpus + extra has more passages than the base index."""
    folder = tmp_path_factory.mktemp("extra")
    (folder / "extra.txt").write_text("新增的文件，第一段讲春天的天气和雨水。\n\n第二段讲河流，流向大海。\n", encoding="utf-8")
    return folder / "extra.txt"


@pytest.fixture(scope="module")
def built(corpus, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    bad = tmp_path_factory.mktemp("bad")
    write_bad_files(bad)
    folder = tmp_path_factory.mktemp("index") / "idx"
    run = qa("index", str(corpus), str(bad), "--index", str(folder))
    return folder, run


@pytest.fixture(scope="module")
def base(built) -> Path:
    folder, run = built
    assert run.returncode == 0, run.stderr
    return folder


@pytest.fixture(scope="module")
def embedder(request):
    """The model loaded once for the whole module (the session fixture when there is one)."""
    from qa.encoder.embedder import Embedder

    emb = Embedder(None)
    try:
        emb._model = request.getfixturevalue("model")
    except pytest.FixtureLookupError:
        pass
    return emb


def ask(folder: Path, embedder) -> tuple[int, list[tuple[str, int]]]:
    """Open the index, ask the question; (passages in the index, cited (doc, paragraph) of the hits)."""
    from qa.api import Index

    idx = Index.open(folder, _embedder=embedder)
    answer = idx.ask(QUESTION, top_k=3, abstain=False)
    assert answer.hits
    return len(idx.passages), [(h.passage.doc, h.passage.paragraph) for h in answer.hits]


@pytest.fixture(scope="module")
def before(base, embedder) -> tuple[int, list[tuple[str, int]]]:
    return ask(base, embedder)


def test_cli_index_skips_bad_files_with_warnings_and_a_summary(built):
    folder, run = built
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    err = flat(run.stderr)
    for reason in ("empty file", "binary file, not text", "unknown text encoding", "unsupported format '.doc'",
                   "not a readable PDF", "not a readable .docx file", "line 1 is not a"):
        assert reason in err
    manifest = store.read_manifest(folder)
    assert re.search(rf"indexed {manifest['passages']} passages from 5 files into .* skipped 7 \(see warnings above\)",
                     err)
    assert len(manifest["skipped"]) == 7
    assert sorted(src["name"] for src in manifest["sources"]) == ["book.pdf", "gbk.md", "note.docx", "page.html",
                                                                  "seed.txt"]
    by_doc: dict[str, list] = {}
    for p in store.open_index(folder).passages:
        by_doc.setdefault(p.doc, []).append(p)
    assert [(p.page, p.text) for p in by_doc["book.pdf"]] == [
        (1, "The orchard has apple trees, pear trees and plums."), (3, "Rivers flow to the sea, carrying the rain.")]
    assert [p.text for p in by_doc["page.html"]] == ["春天的天气很暖和，常常下雨。"]
    assert [p.text for p in by_doc["gbk.md"]] == ["第二段讲河流，流向大海，一路经过很多城市。"]
    assert [p.text for p in by_doc["note.docx"]] == ["会议记录：下周一开会，讨论预算。"]


def test_base_index_answers(before):
    count, hits = before
    assert count > 5
    assert hits[0][0] == "seed.txt"


# -- killed builds never damage the index ---------------------------------------------------------

HOLD = textwrap.dedent("""
    import os, runpy, sys, time
    from pathlib import Path
    import qa.index.store as ix

    point, marker = os.environ["HOLD_AT"], Path(os.environ["HOLD_MARKER"])
    original = getattr(ix, point)

    def hold(*args, **kwargs):
        result = None if point == "_drop_old_generations" else original(*args, **kwargs)
        marker.write_text("reached")
        time.sleep(3600)
        return result

    setattr(ix, point, hold)
    sys.argv = ["qa", *sys.argv[1:]]
    runpy.run_module("qa.cli", run_name="__main__", alter_sys=True)
""")

# Where a build is held and then killed, and whether its new generation was published by then.
HOLD_POINTS = {
    "make_dense": False,  # passages and vectors written, FAISS index not yet
    "_fsync_tree": False,  # the whole generation written, CURRENT not yet switched
    "_drop_old_generations": True,  # CURRENT switched, the old generation not yet removed
}
KILL_AFTER = (0.5, 2.0, 5.0)


@pytest.fixture(scope="module")
def killed(base, corpus, extra, tmp_path_factory) -> dict[str, tuple[Path, bool | None]]:
    """Builds over copies of the base index, killed with SIGKILL at several points; all run at once.

    Returns, for each kill point, the index folder and whether the build had published its new
    generation (None: unknown, a kill on a timer).
    """
    work = tmp_path_factory.mktemp("killed")
    script = work / "hold.py"
    script.write_text(HOLD, encoding="utf-8")
    procs: dict[str, tuple[subprocess.Popen, Path, Path | None]] = {}
    for name in [*HOLD_POINTS, *(f"after {t}s" for t in KILL_AFTER)]:
        folder = work / re.sub(r"\W", "_", name)
        shutil.copytree(base, folder)
        env = cli_env()
        marker = None
        if name in HOLD_POINTS:
            marker = work / f"{folder.name}.reached"
            env.update(HOLD_AT=name, HOLD_MARKER=str(marker))
            cmd = [sys.executable, str(script)]
        else:
            cmd = [sys.executable, "-m", "qa.cli"]
        cmd += ["index", str(corpus), str(extra), "--index", str(folder), "--quiet"]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        procs[name] = (proc, folder, marker)
    start = time.monotonic()
    out: dict[str, tuple[Path, bool | None]] = {}
    try:
        for t in KILL_AFTER:
            proc, folder, _ = procs[f"after {t}s"]
            time.sleep(max(0.0, start + t - time.monotonic()))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            out[f"after {t}s"] = (folder, None)
        for name in HOLD_POINTS:
            proc, folder, marker = procs[name]
            deadline = time.monotonic() + 600
            while not marker.exists():
                if proc.poll() is not None:
                    pytest.fail(f"the build to kill at {name} ended first: {proc.stderr.read().decode()}")
                if time.monotonic() > deadline:
                    pytest.fail(f"the build never reached {name}")
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
            assert proc.wait() == -signal.SIGKILL
            out[name] = (folder, HOLD_POINTS[name])
    finally:
        for proc, _, _ in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()
    return out


@pytest.mark.parametrize("point", [*HOLD_POINTS, *(f"after {t}s" for t in KILL_AFTER)])
def test_killed_build_leaves_a_working_index(point, killed, base, before, embedder):
    folder, published = killed[point]
    old_generation = (base / store.CURRENT).read_text(encoding="utf-8")
    if published is None:  # killed on a timer: it may (on a fast machine) have got as far as publishing
        published = (folder / store.CURRENT).read_text(encoding="utf-8") != old_generation
    count, hits = ask(folder, embedder)
    if published:
        assert count > before[0]  # the new index, whole
        store.open_index(folder, checksums=True)
    else:
        assert (folder / store.CURRENT).read_text(encoding="utf-8") == old_generation
        assert (count, hits) == before
    # the kill released the writer lock, and the next build clears what the killed one left behind
    stored = store.open_index(folder)
    with store.write_lock(folder):
        store.write_index(folder, stored.passages, stored.vectors, stored.lexical,
                          {k: stored.manifest[k] for k in ("model", "sources")}, stored.keys())
    assert len(list(folder.glob("gen-*"))) == 1
    assert len(store.open_index(folder).passages) == count


def test_reader_retries_when_a_writer_replaces_the_generation_it_is_reading(copy, monkeypatch):
    stored = store.open_index(copy)
    first = generation(copy)
    real_verify = store.verify
    calls = []

    def verify_while_a_writer_publishes(folder, manifest, checksums=False, gen=None):
        if not calls:  # a writer publishes a new generation and drops the one being opened
            with store.write_lock(copy):
                store.write_index(copy, stored.passages, stored.vectors, stored.lexical,
                                  {k: stored.manifest[k] for k in ("model", "sources")}, stored.keys())
        calls.append(gen)
        return real_verify(folder, manifest, checksums, gen)

    monkeypatch.setattr(store, "verify", verify_while_a_writer_publishes)
    reopened = store.open_index(copy)
    assert calls[0] == first and calls[1] == generation(copy) != first and not first.exists()
    assert len(reopened.passages) == len(stored.passages)


def test_a_damaged_index_is_rebuilt_from_scratch(copy):
    from qa.index.build import Reuse

    stored = store.open_index(copy)
    assert Reuse.open(copy, stored.model_name) is not None
    path = generation(copy) / "vectors.npy"
    path.write_bytes(path.read_bytes()[:-10])
    assert Reuse.open(copy, stored.model_name) is None  # nothing reused from a damaged index
    with store.write_lock(copy):
        store.write_index(copy, stored.passages, np.array(stored.vectors), stored.lexical,
                          {k: stored.manifest[k] for k in ("model", "sources")}, stored.keys())
    assert len(store.open_index(copy, checksums=True).passages) == len(stored.passages)
    assert len(list(copy.glob("gen-*"))) == 1


# -- two writers ----------------------------------------------------------------------------------

def test_second_writer_fails_at_once(tmp_path):
    with store.write_lock(tmp_path / "idx"):
        with pytest.raises(QAError, match=r"another qa process is writing the index in .*wait for it to finish"):
            with store.write_lock(tmp_path / "idx"):
                pass
    with store.write_lock(tmp_path / "idx"):  # free again once the first writer is done
        pass


def test_second_writer_through_the_cli_fails_cleanly(tmp_path, corpus):
    folder = tmp_path / "idx"
    with store.write_lock(folder):
        run = qa("index", str(corpus), "--index", str(folder))
    assert_clean_failure(run, f"error: another qa process is writing the index in {folder}")
    assert not (folder / store.CURRENT).exists()


# -- damaged and missing indexes ------------------------------------------------------------------

@pytest.fixture
def copy(base, tmp_path) -> Path:
    folder = tmp_path / "idx"
    shutil.copytree(base, folder)
    return folder


def generation(folder: Path) -> Path:
    return folder / (folder / store.CURRENT).read_text(encoding="utf-8").strip()


@pytest.mark.parametrize("name", ["passages.jsonl", "vectors.npy", "dense.faiss", "keys.txt"])
def test_truncated_file_is_reported_as_damage(copy, name):
    from qa.api import Index

    path = generation(copy) / name
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(QAError, match=rf"is damaged \({re.escape(name)} was changed or truncated\); rebuild it"):
        Index.open(copy)


def test_deleted_file_is_reported_as_damage(copy):
    from qa.api import Index

    (generation(copy) / "dense.faiss").unlink()
    with pytest.raises(QAError, match="damaged.*rebuild it with `qa index`"):
        Index.open(copy)


def test_altered_file_of_the_same_size_is_caught_by_checksums(copy):
    path = generation(copy) / "passages.jsonl"
    data = bytearray(path.read_bytes())
    i = data.index(b"\xe5")  # a byte inside a Chinese character, so the JSON stays valid
    data[i + 2] ^= 0x01
    path.write_bytes(bytes(data))
    assert len(store.open_index(copy).passages) > 0  # sizes alone cannot see it
    with pytest.raises(QAError, match=r"damaged \(passages.jsonl was changed or truncated\); rebuild"):
        store.open_index(copy, checksums=True)


@pytest.mark.parametrize("damage,message", [
    (lambda gen: (gen / "manifest.json").write_text("{not json", encoding="utf-8"), "unreadable manifest"),
    (lambda gen: (gen / "manifest.json").write_text("[]", encoding="utf-8"), "manifest lists no files"),
    (lambda gen: (gen / "manifest.json").unlink(), "unreadable manifest"),
    (lambda gen: shutil.rmtree(gen), "CURRENT names a missing generation"),
    (lambda gen: (gen / "passages.jsonl").write_text("{}\n", encoding="utf-8"), "passages.jsonl was changed"),
])
def test_damaged_manifest_or_generation(copy, damage, message):
    from qa.api import Index

    damage(generation(copy))
    with pytest.raises(QAError, match=re.escape(message) + ".*rebuild"):
        Index.open(copy)


def test_manifest_that_lies_about_a_part_is_damage(copy):
    gen = generation(copy)
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    del manifest["files"]["dense.faiss"]
    (gen / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(QAError, match=r"manifest does not list dense.faiss\); rebuild"):
        store.open_index(copy)


def test_index_of_another_format_asks_for_a_rebuild(copy):
    gen = generation(copy)
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    manifest["format"] = 99
    (gen / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(QAError, match="has format 99.*rebuild it"):
        store.open_index(copy)


@pytest.mark.parametrize("make", [lambda p: None, lambda p: p.mkdir(), lambda p: p.write_text("x")])
def test_missing_index_names_qa_index(tmp_path, make):
    from qa.api import Index

    folder = tmp_path / "nothing"
    make(folder)
    with pytest.raises(QAError, match=rf"no index in {re.escape(str(folder))}: build one with `qa index PATH"):
        Index.open(folder)


def test_cli_ask_on_a_damaged_index_fails_cleanly(copy):
    path = generation(copy) / "vectors.npy"
    path.write_bytes(path.read_bytes()[:100])
    run = qa("ask", QUESTION, "--index", str(copy))
    assert_clean_failure(run, "is damaged (vectors.npy was changed or truncated); rebuild it with `qa index`")


# -- property tests: decoding, reading, paragraph offsets -----------------------------------------

ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "gb18030", "gbk", "big5",
             "cp950", "cp1252", "latin-1", "shift_jis", "euc_kr", "koi8_r"]
LOSSLESS = {"utf-8", "utf-8-sig", "utf-16", "utf-32"}  # these must always decode back exactly
REASONS = re.compile(r"^(empty file|binary file, not text|unknown text encoding.*|not valid .* byte-order mark"
                     r"|no text.*|not a readable .*|not readable as HTML.*|encrypted PDF.*"
                     r"|line \d+ .*|no records with text)$")
CHINESE = st.text(alphabet=st.sampled_from("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会"
                                          "医院党建株洲妇幼保健，。、“”！？：；\n "), max_size=80)


def allowed(text: str) -> bool:
    return "\x00" not in text and not any(ord(c) < 32 and c not in "\n\r\t\f" for c in text)


def normalized(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")


@FAST
@given(st.binary(max_size=600))
def test_decode_random_bytes_is_text_or_unreadable(data):
    try:
        text = decode(data)
    except Unreadable as e:
        assert REASONS.match(str(e)), str(e)
        return
    assert isinstance(text, str) and "\x00" not in text and "\r" not in text


@FAST
@given(st.text(max_size=200) | CHINESE, st.sampled_from(ENCODINGS))
def test_decode_random_text_in_random_encodings(text, encoding):
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        return
    try:
        out = decode(data)
    except Unreadable as e:
        assert REASONS.match(str(e)), str(e)
        if encoding in LOSSLESS and allowed(text):
            assert not data and str(e) == "empty file"
        return
    if encoding in LOSSLESS and allowed(text) and out != normalized(text):
        # UTF-8 without a BOM may also be read as the Chinese text its bytes spell in GBK or Big5
        assert encoding == "utf-8" and out in {_try(data, enc) for enc in ("gb18030", "cp950", "big5hkscs")}
        assert len(re.findall(r"[\u3400-\u9fff]", out)) >= 2


def _try(data: bytes, encoding: str) -> str | None:
    try:
        return normalized(data.decode(encoding))
    except UnicodeDecodeError:
        return None


@FAST
@example("为时", "gbk")  # valid UTF-8 too ("Ϊʱ")
@example("工作", "gb18030")
@given(CHINESE, st.sampled_from(["gb18030", "gbk"]))
def test_decode_chinese_text_in_chinese_encodings(text, encoding):
    if len(re.findall(r"[\u4e00-\u9fff]", text)) < 4 and text not in ("为时", "工作"):
        return  # one or two characters can be valid in other encodings as well
    assert decode(text.encode(encoding)) == normalized(text)


SUFFIXES = [".txt", ".md", ".jsonl", ".html", ".pdf", ".docx", ".bin", ""]


@FAST
@given(st.lists(st.tuples(st.sampled_from(SUFFIXES), st.binary(max_size=400) | CHINESE.map(str.encode)),
                min_size=1, max_size=4))
def test_read_paths_on_random_files_never_crashes(tmp_path_factory, files):
    folder = tmp_path_factory.mktemp("random")
    for i, (suffix, data) in enumerate(files):
        (folder / f"f{i}{suffix}").write_bytes(data)
    report = read_paths([folder])
    read = {s.path for s in report.sources}
    skipped = {Path(p) for p, _ in report.skipped}
    for i, (suffix, _) in enumerate(files):
        path = folder / f"f{i}{suffix}"
        if suffix:
            assert path in read or path in skipped
    for _, reason in report.skipped:
        assert reason and "\n" not in reason
    for doc in report.documents:
        check_offsets(doc)


def check_offsets(doc: Document) -> None:
    """Every passage's span is its text up to whitespace; its line is the line its span starts on;
    ``source_offset`` maps each of its characters back to the same character of the document."""
    for p in split_passages(doc):
        assert re.sub(r"\s", "", doc.text[p.start:p.end]) == re.sub(r"\s", "", p.text), (doc.text, p)
        assert p.line == doc.text.count("\n", 0, p.start) + 1
        check_source_offsets(doc, p)


def check_source_offsets(doc: Document, p) -> None:
    for i, ch in enumerate(p.text):
        if not ch.isspace():
            assert doc.text[p.source_offset(i)] == ch, (doc.text, p, i)


@FAST
@given(st.text(max_size=300) | CHINESE)
def test_split_passages_offsets_on_random_text(text):
    check_offsets(Document("d", text))


@FAST
@given(st.text(max_size=200) | CHINESE, st.sampled_from(ENCODINGS))
def test_split_passages_offsets_on_decoded_text(text, encoding):
    try:
        decoded = decode(text.encode(encoding))
    except (UnicodeEncodeError, Unreadable):
        return
    check_offsets(Document("d", decoded))


# Documents made of paragraphs of the kinds the splitter treats differently: prose, short
# headings, page headers repeated, boilerplate, separators, and sentences cut by a page break.
WORDS = st.sampled_from(["株洲", "医院", "儿", "童疾病", "党建", "the", "cat", "Hello", "world", "#", "©", "版权所有",
                         "(3)", "---", "。", "，", "-", ",", ".", "x"])
LINE = st.lists(WORDS, min_size=1, max_size=8).map(
    lambda ws: "".join(ws) if re.match(r"[\u4e00-\u9fff]", ws[0]) else " ".join(ws))
BLOCK = st.lists(LINE, min_size=1, max_size=3).map("\n".join)
GAP = st.sampled_from(["\n\n", "\n \n", "\n\n\n", "\n\u3000\n ", "\n\t\n\n"])


@st.composite
def paragraphs(draw, repeats: bool = True) -> str:
    blocks = draw(st.lists(BLOCK, min_size=1, max_size=8))
    if repeats and draw(st.booleans()):
        blocks.insert(draw(st.integers(0, len(blocks))), draw(st.sampled_from(blocks)))
    text = draw(st.sampled_from(["", "\n", "  "]))
    for i, b in enumerate(blocks):
        text += b + (draw(GAP) if i < len(blocks) - 1 else "")
    return text


@FAST
@given(paragraphs())
def test_split_passages_source_offsets_on_paragraphs(text):
    doc = Document("d", text, pages=((0, 1), (len(text) // 2, 2)))
    for p in split_passages(doc):
        assert p.line == text.count("\n", 0, p.start) + 1
        assert p.page == (1 if p.start < len(text) // 2 else 2)
        check_source_offsets(doc, p)


@FAST
@example("株洲\n\n株洲\n\n株洲株洲")
@example("Title\n\n© 2020\n\nHeading two\n\nBody text here")
@example("Intro\n\n---\n\nHeading\n\nbody")
@given(paragraphs())
def test_split_passages_span_is_the_passage_text(text):
    check_offsets(Document("d", text))


# -- question files and result files --------------------------------------------------------------

def test_question_file_problems_are_user_errors(tmp_path):
    from qa.records.batch_files import answered_ids, read_questions, write_results

    gbk = tmp_path / "q.txt"
    gbk.write_bytes("问题一\n问题二\n".encode("gbk"))
    with pytest.raises(QAError, match="is not UTF-8 text"):
        read_questions(str(gbk))
    wide = tmp_path / "q.csv"
    wide.write_text("question\n" + "x" * 200_000 + "\n", encoding="utf-8")
    with pytest.raises(QAError, match="is not a readable CSV file"):
        read_questions(str(wide))
    with pytest.raises(QAError, match="no such question file"):
        read_questions(str(tmp_path))
    binary = tmp_path / "out.jsonl"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(QAError, match="cannot resume from"):
        answered_ids(binary)
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(QAError, match="cannot write results to"):
        write_results([], [], tmp_path / "file" / "out.jsonl", "jsonl")
    assert not list(tmp_path.glob("file*/.out*"))
