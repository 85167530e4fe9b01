"""Human-readable output of answers: plain text with the answering sentence marked."""

from __future__ import annotations

import sys

from .types import Answer, Hit

ABSTAIN_LINE = "No passage in the index answers this question with confidence."


def marked_text(hit: Hit, left: str = "**", right: str = "**") -> str:
    """The passage text with its answering sentence between markers."""
    p, s = hit.passage, hit.sentence
    i = p.text.find(s.text)
    if i < 0:
        return p.text
    return p.text[:i] + left + s.text + right + p.text[i + len(s.text):]


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
    for hit in answer.hits:
        head = f"[{hit.rank}] {hit.score:.3f}  {hit.passage.citation}"
        if tty:
            body = escape(marked_text(hit, "\x00", "\x01")).replace("\x00", "[bold underline]").replace("\x01", "[/]")
            console.print(f"[bold cyan]{escape(head)}[/]")
            console.print(body)
        else:
            console.print(escape(head), markup=False)
            console.print(marked_text(hit), markup=False)
        console.print()
