"""Human-readable output of answers: plain text with the answering sentence marked."""

from __future__ import annotations

import sys

from .types import Answer, Hit

ABSTAIN_LINE = "No passage in the index answers this question with confidence."


def marked_text(hit: Hit, left: str = "**", right: str = "**", a_left: str = "==", a_right: str = "==") -> str:
    """The passage text with its answering sentence between markers, and the answer span inside it."""
    p, s = hit.passage, hit.sentence
    text = p.text
    marks: list[tuple[int, int, str]] = []  # (position, order at that position, marker)
    i = text.find(s.text)
    if i >= 0:
        marks += [(i, 1, left), (i + len(s.text), 0, right)]
    a = hit.answer
    if a is not None and text[a.offset: a.offset + len(a.text)] == a.text:
        inside = i >= 0 and i <= a.offset and a.offset + len(a.text) <= i + len(s.text)
        # An answer inside the sentence nests in its markers; one outside is marked on its own.
        marks += [(a.offset, 2 if inside else 1, a_left), (a.offset + len(a.text), -1 if inside else 0, a_right)]
    out, last = [], 0
    for pos, _, mark in sorted(marks):
        out += [text[last:pos], mark]
        last = pos
    return "".join(out) + text[last:]


def answer_line(answer: Answer) -> str | None:
    a = answer.answer
    if a is None or answer.abstained:
        return None
    return f"Answer: {a.text}  ({a.doc} ¶{a.paragraph})"


def print_answer(answer: Answer, show_all: bool = False) -> None:
    """Ranked passages to stdout; bold on a terminal, ** markers when piped."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False, soft_wrap=True)
    tty = sys.stdout.isatty()
    if answer.abstained:
        console.print(f"[bold yellow]{ABSTAIN_LINE}[/]" if tty else ABSTAIN_LINE)
        if not show_all:
            if answer.hits:
                console.print("(use --show-all to see the closest passages anyway)")
            return
        console.print("Closest passages:")
    line = answer_line(answer)
    if line is not None:
        console.print(f"[bold green]{escape(line)}[/]" if tty else line, markup=tty)
        console.print()
    for hit in answer.hits:
        head = f"[{hit.rank}] {hit.score:.3f}  {hit.passage.citation}"
        if tty:
            body = (escape(marked_text(hit, "\x00", "\x01", "\x02", "\x03")).replace("\x00", "[bold underline]")
                    .replace("\x01", "[/]").replace("\x02", "[reverse green]").replace("\x03", "[/]"))
            console.print(f"[bold cyan]{escape(head)}[/]")
            console.print(body)
        else:
            console.print(escape(head), markup=False)
            console.print(marked_text(hit), markup=False)
        console.print()
