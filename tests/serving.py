"""Helpers for the serving tests: a real `qa serve` in a subprocess on a free loopback port."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def reader_shipped() -> bool:
    from qa.reader.model import shipped_weights

    return shipped_weights().is_file()


# The serving tests ask with the reader when its weights are installed, and without it otherwise:
# either way the server must give what a local ask gives.
READER = reader_shipped()
NO_READER = [] if READER else ["--no-reader"]


def env_with(cache_dir: Path, **extra: str) -> dict:
    env = {**os.environ, "QA_CACHE_DIR": str(cache_dir), "PYTHONPATH": str(ROOT)}
    env.pop("QA_SERVER", None)
    env.pop("QA_TOKEN", None)
    env.update(extra)
    return env


class Server:
    """`qa serve --port 0` on ``index``; ``url`` once it listens. Stop with ``stop()``."""

    def __init__(self, index: Path, cache_dir: Path, log: Path, *args: str, timeout: float = 240):
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "qa.cli", "serve", "--index", str(index), "--port", "0", *args],
            env=env_with(cache_dir), stdout=subprocess.DEVNULL, stderr=log.open("w"), stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        self.url = ""
        while time.monotonic() < deadline:
            m = re.search(r"on (http://[^/\s]+)/", log.read_text(encoding="utf-8", errors="replace"))
            if m:
                self.url = m.group(1)
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"qa serve exited: {log.read_text()}")
            time.sleep(0.2)
        else:
            self.stop()
            raise RuntimeError(f"qa serve did not start: {log.read_text()}")
        self._wait_ready(deadline)

    def _wait_ready(self, deadline: float) -> None:
        import urllib.error
        import urllib.request

        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/health", timeout=5).read()
                return
            except urllib.error.HTTPError:
                return  # it answers, if only with an error
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("qa serve does not answer")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
