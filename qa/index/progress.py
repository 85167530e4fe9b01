"""Progress of a long index build on standard error: a live bar on a terminal, plain dated lines in a log.

tqdm redraws its line with carriage returns, which a log file keeps: every refresh and the final one end
up side by side on one line. Away from a terminal, progress is therefore written as whole lines, one every
``every`` seconds, and nothing at the end (the build's summary line gives the final count).
"""

from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO


class Progress(Protocol):
    def update(self, n: int) -> None: ...

    def close(self) -> None: ...


class LineProgress:
    """Counts passages and writes ``Passages: N passages [MM:SS, R passages/s]`` lines at most every ``every`` s."""

    def __init__(self, stream: TextIO, every: float = 10.0, delay: float = 2.0) -> None:
        self.stream, self.every = stream, every
        self.start = time.monotonic()
        self.next = self.start + max(delay, every)
        self.count = 0

    def update(self, n: int) -> None:
        self.count += n
        now = time.monotonic()
        if now >= self.next:
            self.next = now + self.every
            elapsed = now - self.start
            m, s = divmod(int(elapsed), 60)
            self.stream.write(f"Passages: {self.count} passages [{m:02d}:{s:02d}, "
                              f"{self.count / elapsed:.1f} passages/s]\n")
            self.stream.flush()

    def close(self) -> None:
        pass


def passage_progress(enabled: bool, stream: TextIO | None = None) -> Progress | None:
    """A bar on a terminal, lines elsewhere, or None when progress is off."""
    if not enabled:
        return None
    stream = stream or sys.stderr
    if not stream.isatty():
        return LineProgress(stream)
    from tqdm import tqdm

    return tqdm(desc="Passages", unit=" passages", delay=2.0, file=stream)  # no bar for builds that end at once
