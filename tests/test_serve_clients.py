"""A real `qa serve` process and its clients: `qa ask/batch --server` print what a local run prints
without importing torch or numpy, several clients at once get correct answers, `qa shell` answers
line after line, `qa mcp` answers through the official SDK's stdio client, and refusals are one line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
from serving import NO_READER, READER, Server, env_with
from typer.testing import CliRunner

from qa.cli import app

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
Q_DEPUTY = "株洲市妇幼保健院的党委专职副书记是谁？"
Q_SECRETARY = "株洲市中心医院的党委书记是谁？"
Q_ABSTAIN = "株洲市二医院2022年全年的门诊量是多少人次？"
DEPUTY_DOC = "000_c13455d065a0bfbb.txt"
HEAVY = ("torch", "numpy", "sentence_transformers", "faiss", "transformers", "jieba")


@pytest.fixture()
def server(served):
    return served


def local(args, cache_dir, input=None):
    """A local run in this process, where the model is already loaded."""
    return CliRunner().invoke(app, [str(a) for a in args], env={"QA_CACHE_DIR": str(cache_dir)}, input=input)


def qa(args, cache_dir, input=None, **env):
    return subprocess.run([sys.executable, "-m", "qa.cli", *map(str, args)], capture_output=True, text=True,
                          env=env_with(cache_dir, **env), input=input, timeout=300)


@pytest.mark.parametrize("extra", [NO_READER, ["--json", *NO_READER], ["-k", "2", "--mode", "bm25", "--no-reader"],
                                   ["--json", "--show-all", *NO_READER]])
@pytest.mark.parametrize("question", [Q_DEPUTY, Q_ABSTAIN])
def test_ask_server_prints_what_a_local_ask_prints(server, seeds_index, cache_dir, question, extra):
    here = local(["ask", question, "--index", seeds_index.folder, *extra], cache_dir)
    remote = qa(["ask", question, "--server", server.url, *extra], cache_dir)
    assert here.exit_code == remote.returncode == 0, remote.stderr
    assert remote.stdout == here.stdout and remote.stdout.strip()
    via_env = qa(["ask", question, *extra], cache_dir, QA_SERVER=server.url)
    assert via_env.stdout == here.stdout


def test_ask_server_imports_nothing_heavy(server, cache_dir):
    code = (
        "import sys; from qa.cli import app\n"
        f"try:\n    app(['ask', {Q_SECRETARY!r}, '--server', {server.url!r}, '--json', *{NO_READER!r}])\n"
        "except SystemExit as e:\n    assert not e.code, e.code\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)), file=sys.stderr)\n"
    )
    res = subprocess.run([sys.executable, "-c", "import json\n" + code], capture_output=True, text=True,
                         env=env_with(cache_dir), timeout=60)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["passages"][0]["doc"].startswith("002_")
    assert json.loads(res.stderr.strip().splitlines()[-1]) == []


def test_batch_server_writes_what_a_local_batch_writes(server, seeds_index, cache_dir, tmp_path):
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(json.dumps({"id": "a", "question": Q_DEPUTY}, ensure_ascii=False) + "\n"
                     + json.dumps({"id": "b", "question": "？！"}, ensure_ascii=False) + "\n"
                     + "not json\n" + json.dumps({"id": "c", "question": Q_ABSTAIN}, ensure_ascii=False) + "\n",
                     encoding="utf-8")
    for fmt in ("jsonl", "md"):
        here = local(["batch", qfile, "--index", seeds_index.folder, "-f", fmt, "-k", "2", *NO_READER], cache_dir)
        remote = qa(["batch", qfile, "--server", server.url, "-f", fmt, "-k", "2", *NO_READER], cache_dir)
        assert here.exit_code == remote.returncode == 1  # two questions are bad
        assert remote.stdout == here.stdout and remote.stderr == here.stderr
        assert "answered 2 questions, 2 failed" in remote.stderr
    out = tmp_path / "out.jsonl"
    first = qa(["batch", qfile, "--server", server.url, "-o", out, "--no-reader"], cache_dir)
    again = qa(["batch", qfile, "--server", server.url, "-o", out, "--resume", "--no-reader"], cache_dir)
    assert first.returncode == again.returncode == 1 and "skipped 2 already answered" in again.stderr


def test_several_clients_at_once_get_correct_answers(server):
    questions = {Q_DEPUTY: DEPUTY_DOC, Q_SECRETARY: "002_af8fc51bc6101226.txt"}
    errors: list[str] = []

    def client(n: int) -> None:
        for i in range(6):
            q = list(questions)[(n + i) % 2]
            req = urllib.request.Request(server.url + "/ask", method="POST",
                                         data=json.dumps({"question": q, "top_k": 1, "reader": READER}).encode(),
                                         headers={"Content-Type": "application/json"})
            try:
                out = json.loads(urllib.request.urlopen(req, timeout=120).read())
                if out["passages"][0]["doc"] != questions[q]:
                    errors.append(f"{q}: {out['passages'][0]['doc']}")
            except Exception as e:  # noqa: BLE001 - any failure is reported below
                errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    health = json.loads(urllib.request.urlopen(server.url + "/health", timeout=30).read())  # not blocked
    for t in threads:
        t.join()
    assert errors == [] and health["status"] == "ok"


def test_client_errors_are_one_line(server, cache_dir):
    for args, says in [
        (["ask", "？！", "--server", server.url], "error: the question has no words"),
        (["ask", "", "--server", server.url], "error: the question is empty"),
        (["ask", "谁是院长？", "--server", "http://127.0.0.1:9"], "http://127.0.0.1:9"),
        (["ask", "谁是院长？", "--server", server.url, "--index", "x"], "drop --index"),
        (["batch", "-", "--server", "http://127.0.0.1:9"], "no qa server answers at http://127.0.0.1:9"),
    ]:
        res = qa(args, cache_dir, input=Q_DEPUTY + "\n")
        assert res.returncode == 1 and res.stderr.startswith("error:"), res.stderr
        assert len(res.stderr.strip().splitlines()) == 1 and says in res.stderr, res.stderr
        assert "Traceback" not in res.stderr


def test_token_server_refusals_and_a_deleted_index(seeds_index, cache_dir, tmp_path):
    res = qa(["serve", "--index", seeds_index.folder, "--host", "0.0.0.0", "--port", "0"], cache_dir)
    assert res.returncode == 1 and "without a token" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    folder = tmp_path / "index"
    shutil.copytree(seeds_index.folder, folder)
    srv = Server(folder, cache_dir, tmp_path / "tok.log", "--token", "t0ken")
    try:
        taken = qa(["serve", "--index", folder, "--port", srv.url.rsplit(":", 1)[1]], cache_dir)
        assert taken.returncode == 1 and "cannot listen" in taken.stderr
        assert len(taken.stderr.strip().splitlines()) == 1
        denied = qa(["ask", Q_DEPUTY, "--server", srv.url], cache_dir)
        assert denied.returncode == 1 and "token" in denied.stderr and len(denied.stderr.strip().splitlines()) == 1
        ok = qa(["ask", Q_DEPUTY, "--server", srv.url, "--json", "--no-reader"], cache_dir, QA_TOKEN="t0ken")
        assert ok.returncode == 0 and json.loads(ok.stdout)["passages"][0]["doc"] == DEPUTY_DOC
        shutil.rmtree(folder)
        gone = qa(["ask", Q_DEPUTY, "--server", srv.url, "--token", "t0ken"], cache_dir)
        assert gone.returncode == 1 and "not available" in gone.stderr and "no index in" in gone.stderr
        assert len(gone.stderr.strip().splitlines()) == 1
        shutil.copytree(seeds_index.folder, folder)
        back = qa(["ask", Q_DEPUTY, "--server", srv.url, "--json", "--no-reader"], cache_dir, QA_TOKEN="t0ken")
        assert back.returncode == 0 and json.loads(back.stdout)["passages"][0]["doc"] == DEPUTY_DOC
    finally:
        srv.stop()


def test_shell_answers_line_after_line(seeds_index, cache_dir):
    # In bm25 mode the secretary question's top passage names another secretary and the verifier withholds
    # it; the deputy question is answered in every mode.
    lines = "\n".join([Q_DEPUTY, ":k 2", ":mode bm25", ":json", Q_DEPUTY, ":mode fuzzy", ":text",
                       ":mode hybrid", Q_ABSTAIN, ":all", Q_ABSTAIN, ":nope", "？！", ":quit", Q_DEPUTY]) + "\n"
    res = qa(["shell", "--index", seeds_index.folder, *NO_READER], cache_dir, input=lines)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert out.count("000_c13455d065a0bfbb.txt ¶") >= 1 and "[5]" in out  # the first question, 5 passages
    record = json.loads(next(ln for ln in out.splitlines() if ln.startswith("{")))
    assert record["question"] == Q_DEPUTY and len(record["passages"]) == 2 and not record["abstained"]
    assert out.count("No passage in the index answers this question") == 2 and "Closest passages:" in out
    assert "type :all to see the closest passages" in out
    for said in ["top_k = 2", "mode = bm25", "mode = hybrid", "unknown mode 'fuzzy'", "unknown command ':nope'",
                 "error: the question has no words"]:
        assert said in res.stderr, res.stderr
    assert sum(ln.startswith("[1] ") for ln in out.splitlines()) == 2  # nothing was answered after :quit
    assert "Traceback" not in res.stderr


def test_shell_prompt_with_line_editing(seeds_index, cache_dir, tmp_path, monkeypatch):
    """The terminal path: prompt_toolkit reads keys (here from a pipe) and keeps a history file."""
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from qa.serving.service import Service
    from qa.serving.shell import Settings, _terminal_lines, run_shell

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    said: list[str] = []
    with create_pipe_input() as inp, create_app_session(input=inp, output=DummyOutput()):
        inp.send_text(":k 1\r" + Q_DEPUTY + "\r")
        inp.send_bytes(b"\x04")  # Ctrl-D
        settings = Settings(as_json=True, reader=READER)
        run_shell(Service(seeds_index.folder, cache_dir=cache_dir), settings, _terminal_lines(), said.append)
    assert settings.top_k == 1 and "top_k = 1" in said
    history = (tmp_path / "qa" / "shell_history").read_text(encoding="utf-8")
    assert Q_DEPUTY in history


def test_mcp_tools_over_stdio(seeds_index, cache_dir):
    import anyio
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "qa.cli", "mcp", "--index",
                                                                 str(seeds_index.folder)], env=env_with(cache_dir))

    async def session():
        async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            tools = {t.name: t for t in (await s.list_tools()).tools}
            asked = await s.call_tool("ask", {"question": Q_DEPUTY, "top_k": 2, "reader": READER})
            searched = await s.call_tool("search", {"query": Q_ABSTAIN, "top_k": 3})
            abstained = await s.call_tool("ask", {"question": Q_ABSTAIN, "reader": READER})
            bad = await s.call_tool("ask", {"question": "？！"})
            return tools, asked, searched, abstained, bad

    tools, asked, searched, abstained, bad = anyio.run(session)
    assert {"ask", "search"} <= set(tools) and "question" in tools["ask"].input_schema["properties"]
    assert not asked.is_error
    top = asked.structured_content["passages"][0]
    assert top["doc"] == DEPUTY_DOC and top["citation"].startswith(DEPUTY_DOC + " ¶") and "邓顺钢" in top["sentence"]
    assert len(asked.structured_content["passages"]) == 2
    assert abstained.structured_content["abstained"] is True and abstained.structured_content["passages"] == []
    assert len(searched.structured_content["passages"]) == 3  # search never abstains
    assert bad.is_error and "punctuation" in bad.content[0].text
