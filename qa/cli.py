"""The `qa` command line: index, ask, batch, eval. Results go to stdout; progress and messages to stderr."""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    # Plain help, as click prints it: formatting it with rich imports rich's markdown and tables, which cost
    # more than half of `qa --help` (0.74 s against 0.28 s side by side on a loaded 2-core machine).
    rich_markup_mode=None,
    help="Ask questions of your documents and get back the source passages that answer them, with citations.",
)

IndexOpt = typer.Option(None, "--index", "-i", help="Index folder [default: embeddings/ of the seeds corpus].")
TopKOpt = typer.Option(5, "--top-k", "-k", min=1, help="How many passages to return.")
ModeOpt = typer.Option("hybrid", "--mode", help="Ranking: hybrid, dense or bm25.")
ModelOpt = typer.Option(None, "--model", "-m", help="sentence-transformers model name or local folder "
                        "[default: multilingual-e5-small, rebuilt offline].")
CacheOpt = typer.Option(None, "--cache-dir", envvar="QA_CACHE_DIR", help="Where the default model is rebuilt.")
ServerOpt = typer.Option(None, "--server", envvar="QA_SERVER", help="Ask a running `qa serve` at this URL "
                         "instead of loading the model and index here.")
TokenOpt = typer.Option(None, "--token", envvar="QA_TOKEN", help="Bearer token of the server.")
NoReaderOpt = typer.Option(False, "--no-reader", help="Passages and sentences only: no answer span, no reader "
                           "(faster; abstains by retrieval evidence alone).")


def _stderr():
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)  # a message is one line, however narrow the terminal or log


class _OneLine(logging.Formatter):
    """Messages as single lines on stderr: 'warning: ...' for problems, bare text for progress."""

    def format(self, record: logging.LogRecord) -> str:
        msg = " ".join(record.getMessage().split())
        return msg if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {msg}"


def _setup_logging(quiet: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, handlers=[handler], force=True)
    for noisy in ("sentence_transformers", "transformers", "jieba", "faiss", "httpx", "huggingface_hub", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def _fail(message: str) -> None:
    from rich.markup import escape

    # escaped: brackets in a message (`pip install "qa[ray]"`, a path) are text, not markup
    _stderr().print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code=1)


def _run(fn):
    """Run a command body; user errors become one line on stderr and exit status 1."""
    from qa.errors import QAError

    try:
        return fn()
    except QAError as e:
        _fail(str(e))
    except KeyboardInterrupt:
        _stderr().print("interrupted")
        raise typer.Exit(code=130)


def _open(index: Optional[Path], model: Optional[str], cache_dir: Optional[Path]):
    from qa.api import Index

    if index is None:
        if model:
            return Index.open(None, model=model, cache_dir=cache_dir)
        return Index.open_or_build_default(progress=True)
    return Index.open(index, model=model, cache_dir=cache_dir)


# `--ray [ADDRESS]` takes an optional value, which typer cannot declare: it reaches the command among
# the paths and is picked out there (``_ray_option``).
_RAY_ADDRESS = re.compile(r"^(ray://\S+|[\w.\-]+:\d+|\[[0-9a-fA-F:]+\]:\d+|auto|local)$")


def _ray_option(paths: list[Path]) -> tuple[list[Path], str | bool | None]:
    """The paths without ``--ray`` and its address; True for ``--ray`` alone, None without it."""
    out: list[Path] = []
    ray: str | bool | None = None
    # the paths came as Path objects, which fold the "//" of a ray:// address into "/"
    args = [re.sub(r"^(--ray=)?ray:/(?!/)", r"\1ray://", str(p)) for p in paths]
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--ray":
            ray = True
            if i + 1 < len(args) and _RAY_ADDRESS.match(args[i + 1]):
                ray = args[i + 1]
                i += 1
        elif a.startswith("--ray="):
            ray = a.split("=", 1)[1] or True
        elif a.startswith("-") and a != "-":
            from qa.errors import QAError

            raise QAError(f"unknown option '{a}': see qa index --help")
        else:
            out.append(Path(a))
        i += 1
    return out, ray


@app.command("index", context_settings={"ignore_unknown_options": True})
def index_cmd(
    paths: list[Path] = typer.Argument(..., help="Files or folders: .txt, .md, .jsonl ({id, title, text} a line), "
                               ".html, .pdf, .docx."),
    index: Optional[Path] = IndexOpt,
    model: Optional[str] = ModelOpt,
    index_type: str = typer.Option("auto", "--index-type", help="auto, flat (exact), hnsw (approximate) or "
                                   "ivfpq (compressed, for millions of passages)."),
    precision: Optional[str] = typer.Option(None, "--precision", help="float32, bf16 (torch: fast on CPUs with "
                                            "AMX/AVX512-BF16) or int8 (onnx); default: what --engine picks."),
    engine: str = typer.Option("auto", "--engine", help="auto, torch or onnx (the default model only); auto: "
                               "torch bf16 on CPUs with native bf16, else onnx float32 (docs/engines.md)."),
    cache_dir: Optional[Path] = CacheOpt,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only warnings and errors on stderr."),
) -> None:
    """Build (or update) an index of PATHS.

    --ray [ADDRESS]: embed on Ray workers: a local Ray (or RAY_ADDRESS) without ADDRESS, else the
    cluster at ADDRESS (HOST:PORT). Needs pip install "qa[ray]"; the index is written here."""
    _setup_logging(quiet)

    def body():
        import time

        from qa.api import Index, default_index_dir
        from qa.index import store

        files, ray = _ray_option(paths)
        if not files:
            from qa.errors import QAError

            raise QAError("no PATH to index: give files or folders")
        t0 = time.perf_counter()
        before = store.current_generation(index or default_index_dir())
        built = Index.build(files, index, model=model, cache_dir=cache_dir, index_type=index_type,
                            progress=not quiet, precision=precision, ray=ray,
                            engine=engine)
        m = built.manifest
        skipped = len(m.get("skipped", []))
        verb = "up to date:" if built.stored.generation == before else "indexed"
        _stderr().print(
            f"{verb} {m['passages']} passages from {len(m['sources'])} files into {built.folder} "
            f"({m['index_type']}, {m['model']['name']}, {m['model'].get('engine', 'torch')} {m['model']['precision']}"
            f"{', on Ray' if m.get('engine') == 'ray' else ''}) in {time.perf_counter() - t0:.1f}s"
            + (f"; skipped {skipped} (see warnings above)" if skipped else ""),
            highlight=False,
        )

    _run(body)


def _client(server: str, token: Optional[str], index: Optional[Path], model: Optional[str]):
    from qa.errors import QAError
    from qa.serving.client import Client

    if index is not None or model:
        raise QAError("--server (or QA_SERVER) answers from the server's own index: drop --index/--model, "
                      "or unset QA_SERVER to ask locally")
    return Client(server, token)


@app.command()
def ask(
    question: str = typer.Argument(..., help="The question, in any language."),
    index: Optional[Path] = IndexOpt,
    top_k: int = TopKOpt,
    mode: str = ModeOpt,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    show_all: bool = typer.Option(False, "--show-all", help="Show passages even when the answer is abstained."),
    no_reader: bool = NoReaderOpt,
    model: Optional[str] = ModelOpt,
    cache_dir: Optional[Path] = CacheOpt,
    server: Optional[str] = ServerOpt,
    token: Optional[str] = TokenOpt,
) -> None:
    """Ask one question; prints the answer, then ranked passages with citations and the answering sentence marked."""
    _setup_logging(quiet=as_json)

    def body():
        from qa.records.render import print_record

        # Text output always fetches the closest passages, so it can say whether --show-all would help.
        want_all = show_all or not as_json
        if server:
            record = _client(server, token, index, model).ask(question, top_k, mode, want_all, reader=not no_reader)
        else:
            idx = _open(index, model, cache_dir)
            record = idx.ask(question, top_k=top_k, mode=mode, reader=not no_reader).to_dict(want_all)
        if as_json:
            typer.echo(json.dumps(record, ensure_ascii=False))
        else:
            print_record(record, show_all=show_all)

    _run(body)


@app.command()
def batch(
    file: str = typer.Argument(..., help="Questions: .txt (one a line), .jsonl ({id, question}), .csv "
                               "(question column, optional id), or - for stdin."),
    index: Optional[Path] = IndexOpt,
    top_k: int = TopKOpt,
    mode: str = ModeOpt,
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write results here [default: stdout]."),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", help="jsonl, csv or md [default: from -o, else jsonl]."),
    resume: bool = typer.Option(False, "--resume", help="Skip questions already answered in the -o file."),
    no_reader: bool = NoReaderOpt,
    model: Optional[str] = ModelOpt,
    cache_dir: Optional[Path] = CacheOpt,
    server: Optional[str] = ServerOpt,
    token: Optional[str] = TokenOpt,
) -> None:
    """Answer a file of questions; exits 1 if any question could not be answered."""
    _setup_logging(quiet=True)

    def body():
        from qa.records.batch_files import answered_ids, read_questions, write_results

        out_format = (fmt or (output.suffix.lstrip(".") if output and output.suffix else "jsonl")).lower()
        if out_format not in ("jsonl", "csv", "md"):
            from qa.errors import QAError

            raise QAError(f"unknown output format '{out_format}': use jsonl, csv or md")
        client = _client(server, token, index, model) if server else None
        items, bad = read_questions(file)
        done = answered_ids(output) if (resume and output) else {}
        todo = [(qid, q) for qid, q in items if qid not in done]
        if client is not None:
            records = client.batch(todo, top_k, mode, reader=not no_reader) if todo else []
        else:
            idx = _open(index, model, cache_dir)
            answers = idx.ask_many(todo, top_k=top_k, mode=mode, reader=not no_reader) if todo else []
            records = [a.to_dict() for a in answers]
        records = [b.to_dict() for b in bad] + records
        write_results(list(done.values()), records, output, out_format)
        failed = [r for r in records if r.get("error")]
        _stderr().print(
            f"answered {len(records) - len(failed)} questions"
            + (f", skipped {len(done)} already answered" if done else "")
            + (f", {len(failed)} failed" if failed else ""),
            highlight=False,
        )
        if failed:
            raise typer.Exit(code=1)

    _run(body)


@app.command()
def serve(
    index: Optional[Path] = IndexOpt,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; anything but loopback needs --token."),
    port: int = typer.Option(8765, "--port", "-p", min=0, max=65535, help="Port (0: any free one)."),
    token: Optional[str] = typer.Option(None, "--token", envvar="QA_TOKEN",
                                        help="Require 'Authorization: Bearer TOKEN' on every endpoint but /health."),
    cache_dir: Optional[Path] = CacheOpt,
) -> None:
    """Serve the index over HTTP: a JSON API, API docs at /docs and a web page at /."""
    _setup_logging()

    def body():
        from qa.serving import http_api as web
        from qa.serving.service import Service

        sock = web.listen(host, port, token)
        service = Service(index, cache_dir=cache_dir, default=index is None)
        service.warm()
        web.run(service, sock, token, announce=lambda line: _stderr().print(line, highlight=False, soft_wrap=True))

    _run(body)


@app.command()
def shell(
    index: Optional[Path] = IndexOpt,
    top_k: int = TopKOpt,
    mode: str = ModeOpt,
    no_reader: bool = NoReaderOpt,
    cache_dir: Optional[Path] = CacheOpt,
) -> None:
    """Ask questions one after another at a prompt; the model and index load once. Ctrl-D quits."""
    _setup_logging()

    def body():
        from qa.serving.service import Service
        from qa.serving.shell import Settings, check_mode, run_shell

        check_mode(mode)
        service = Service(index, cache_dir=cache_dir, default=index is None)
        service.warm()
        run_shell(service, Settings(top_k=top_k, mode=mode, reader=not no_reader))

    _run(body)


@app.command()
def mcp(
    index: Optional[Path] = IndexOpt,
    cache_dir: Optional[Path] = CacheOpt,
) -> None:
    """A Model Context Protocol server on stdin/stdout, with the tools `ask` and `search`."""
    _setup_logging(quiet=True)

    def body():
        from qa.serving.mcp_server import run_stdio
        from qa.serving.service import Service

        service = Service(index, cache_dir=cache_dir, default=index is None)
        service.warm()
        run_stdio(service)

    _run(body)


@app.command("eval")
def eval_cmd(
    questions: Path = typer.Argument(..., help="Questions with gold: {id, question, gold} or {id, question, docs, answers}."),
    index: Optional[Path] = IndexOpt,
    modes: str = typer.Option("dense,bm25,hybrid", "--modes", help="Comma-separated modes to score."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Score only the first N questions."),
    as_json: bool = typer.Option(False, "--json", help="Print the scores as JSON."),
    no_reader: bool = NoReaderOpt,
    gold_passage: bool = typer.Option(False, "--gold-passage", help="Score the reader alone: read each "
                                      "question's gold paragraph (questions with gold ids and answers)."),
    verifier: str = typer.Option("on", "--verifier", help="on: the answer verifier decides whether to answer; "
                                 "off: the reader's margin alone."),
    model: Optional[str] = ModelOpt,
    cache_dir: Optional[Path] = CacheOpt,
) -> None:
    """Score a question file against an index, for every mode."""
    _setup_logging(quiet=True)

    def body():
        from qa.evaluation.evaluate import evaluate, evaluate_gold_passages, format_report

        from qa.errors import QAError

        if verifier not in ("on", "off"):
            raise QAError(f"--verifier is on or off, not '{verifier}'")
        idx = _open(index, model, cache_dir)
        idx.judging.verifier = verifier == "on"
        if gold_passage:
            report = evaluate_gold_passages(idx, questions, limit=limit)
        else:
            report = evaluate(idx, questions, modes=[m.strip() for m in modes.split(",") if m.strip()],
                              limit=limit, reader=not no_reader)
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2) if as_json else format_report(report))

    _run(body)


@app.command("train-reader", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train_reader(ctx: typer.Context) -> None:
    """Train the extractive reader (see qa/reader/weights/CARD.md); `qa train-reader --help` for its options."""
    from qa.reader.train import main as train_main

    train_main(list(ctx.args))


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
