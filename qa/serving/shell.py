"""`qa shell`: an interactive prompt over a `Service`; the model and index load once.

A line is a question, or a command that changes the settings (``:k 10``, ``:mode bm25``,
``:json``, ``:text``, ``:all``, ``:reader``, ``:help``, ``:quit``). On a terminal, prompt_toolkit gives line
editing and a history file; with piped input the lines are read as they come.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from qa.errors import QAError
from qa.records.render import print_record
from qa.search.retriever import MODES

HELP = """Type a question and press Enter. Commands:
  :k N         how many passages to show (now {top_k})
  :mode M      ranking: hybrid, dense or bm25 (now {mode})
  :json        print JSON records     :text   print text (now {output})
  :all         show passages even when the answer is abstained (toggle, now {all})
  :reader      pick the answer span out of the passages (toggle, now {reader})
  :help        this help              :quit   or Ctrl-D to leave"""


@dataclass
class Settings:
    top_k: int = 5
    mode: str = "hybrid"
    as_json: bool = False
    show_all: bool = False
    reader: bool = True


def history_file() -> Path:
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "qa" / "shell_history"


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise QAError(f"unknown mode '{mode}': use one of {', '.join(MODES)}")
    return mode


def command(line: str, settings: Settings) -> str | None:
    """Apply a ``:command``; returns a message to print, or None to quit. QAError when unknown."""
    name, _, arg = line[1:].strip().partition(" ")
    arg = arg.strip()
    if name in ("q", "quit", "exit"):
        return None
    if name == "k":
        if not arg.isdigit() or int(arg) < 1:
            raise QAError(":k needs a whole number of at least 1, e.g. :k 10")
        settings.top_k = int(arg)
        return f"top_k = {settings.top_k}"
    if name == "mode":
        settings.mode = check_mode(arg)
        return f"mode = {arg}"
    if name in ("json", "text"):
        settings.as_json = name == "json"
        return f"output = {name}"
    if name == "all":
        settings.show_all = not settings.show_all
        return f"show_all = {'on' if settings.show_all else 'off'}"
    if name == "reader":
        settings.reader = not settings.reader
        return f"reader = {'on' if settings.reader else 'off'}"
    if name in ("help", "h", "?"):
        return HELP.format(top_k=settings.top_k, mode=settings.mode, all="on" if settings.show_all else "off",
                           output="json" if settings.as_json else "text", reader="on" if settings.reader else "off")
    raise QAError(f"unknown command ':{name}': type :help for the list")


def _terminal_lines() -> Iterator[str]:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    path = history_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        history = FileHistory(str(path))
    except OSError:
        history = InMemoryHistory()
    session: PromptSession = PromptSession(history=history)
    while True:
        try:
            yield session.prompt("qa> ")
        except KeyboardInterrupt:  # Ctrl-C drops the line being typed, as in a shell
            continue
        except EOFError:
            return


def _piped_lines() -> Iterator[str]:
    for line in sys.stdin:
        yield line.rstrip("\n")


def run_shell(service, settings: Settings, lines: Iterator[str] | None = None,
              say: Callable[[str], None] | None = None) -> None:
    """Answer each line until the input ends or ``:quit``."""
    say = say or (lambda s: print(s, file=sys.stderr))
    if lines is None:
        lines = _terminal_lines() if sys.stdin.isatty() and sys.stdout.isatty() else _piped_lines()
    h = service.health()
    say(f"qa shell: {h['passages']} passages from {h['documents']} documents in {h['index']}; "
        ":help for commands, Ctrl-D quits")
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        try:
            if line.startswith(":"):
                message = command(line, settings)
                if message is None:
                    return
                say(message)
                continue
            want_all = settings.show_all or not settings.as_json
            record = service.ask(line, top_k=settings.top_k, mode=settings.mode, show_all=want_all,
                                 reader=settings.reader)
            if settings.as_json:
                print(json.dumps(record, ensure_ascii=False), flush=True)
            else:
                print_record(record, show_all=settings.show_all,
                             hint="(type :all to see the closest passages anyway)")
                sys.stdout.flush()
        except QAError as e:
            say(f"error: {e}")
