"""Human-readable output of answers: plain text with the answering sentence marked.

Everything here works on the JSON record of an answer (``Answer.to_dict()``), so a local ``qa ask``
and ``qa ask --server`` print through the same code. Imports nothing heavy (no numpy, no torch).
"""

from __future__ import annotations

import sys

from qa.types import Answer

ABSTAIN_LINE = "No passage in the index answers this question with confidence."


def citation(p: dict) -> str:
    """``doc ¶paragraph[, page N], line L, chars START-END`` of a passage record."""
    page = f", page {p['page']}" if p.get("page") is not None else ""
    return f"{p['doc']} ¶{p['paragraph']}{page}, line {p['line']}, chars {p['start']}-{p['end']}"


def answer_offset(p: dict) -> int | None:
    """Where the passage's answer span starts in its ``text``, or None when it is not there.

    Source offsets differ from text offsets only where a page break's whitespace was dropped, which
    moves the span left: the occurrence nearest ``start - passage start`` from below is the one.
    """
    a = p.get("answer")
    if not a or not a.get("text"):
        return None
    text, span = p["text"], a["text"]
    guess = a["start"] - p["start"]
    if text[guess: guess + len(span)] == span:
        return guess
    best, i = None, text.find(span)
    while 0 <= i <= guess:
        best, i = i, text.find(span, i + 1)
    return best if best is not None else (i if i >= 0 else None)


def marked_text(p: dict, left: str = "**", right: str = "**", a_left: str = "==", a_right: str = "==") -> str:
    """The passage text with its answering sentence between markers, and the answer span inside it."""
    text, sentence = p["text"], p.get("sentence") or ""
    marks: list[tuple[int, int, str]] = []  # (position, order at that position, marker)
    i = text.find(sentence) if sentence else -1
    if i >= 0:
        marks += [(i, 1, left), (i + len(sentence), 0, right)]
    at = answer_offset(p)
    if at is not None:
        end = at + len(p["answer"]["text"])
        inside = i >= 0 and i <= at and end <= i + len(sentence)
        # An answer inside the sentence nests in its markers; one outside is marked on its own.
        marks += [(at, 2 if inside else 1, a_left), (end, -1 if inside else 0, a_right)]
    out, last = [], 0
    for pos, _, mark in sorted(marks):
        out += [text[last:pos], mark]
        last = pos
    return "".join(out) + text[last:]


def answer_line(record: dict) -> str | None:
    a = record.get("answer")
    if not a or record.get("abstained"):
        return None
    return f"Answer: {a['text']}  ({a['doc']} ¶{a['paragraph']})"


SHOW_ALL_HINT = "(use --show-all to see the closest passages anyway)"


def print_record(record: dict, show_all: bool = False, hint: str = SHOW_ALL_HINT) -> None:
    """Ranked passages of an answer record to stdout; bold on a terminal, ** markers when piped.

    ``record`` should carry its passages even when abstained (``to_dict(show_all=True)``), so
    that the hint about ``--show-all`` is only given when there is something to show."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False, soft_wrap=True)
    tty = sys.stdout.isatty()
    passages = record.get("passages") or []
    if record.get("abstained"):
        console.print(f"[bold yellow]{ABSTAIN_LINE}[/]" if tty else ABSTAIN_LINE)
        if not show_all:
            if passages:
                console.print(hint)
            return
        console.print("Closest passages:")
    line = answer_line(record)
    if line is not None:
        console.print(f"[bold green]{escape(line)}[/]" if tty else line, markup=tty)
        console.print()
    for p in passages:
        head = f"[{p['rank']}] {p['score']:.3f}  {citation(p)}"
        if tty:
            body = (escape(marked_text(p, "\x00", "\x01", "\x02", "\x03")).replace("\x00", "[bold underline]")
                    .replace("\x01", "[/]").replace("\x02", "[reverse green]").replace("\x03", "[/]"))
            console.print(f"[bold cyan]{escape(head)}[/]")
            console.print(body)
        else:
            console.print(escape(head), markup=False)
            console.print(marked_text(p), markup=False)
        console.print()


def print_answer(answer: Answer, show_all: bool = False) -> None:
    """An Answer printed through its JSON record, exactly as a server's answer would be."""
    print_record(answer.to_dict(show_all=True), show_all=show_all)
