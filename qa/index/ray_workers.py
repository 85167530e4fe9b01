"""Embedding and tokenizing on Ray: one actor a CPU of the cluster, each loading the model once.

Chunks of passage texts go out as actor tasks, a few per actor ahead, and come back in the order
they were sent, so the index is written in passage order by this process (the driver). A worker
process that dies (SIGKILL, out of memory) is restarted by Ray and its tasks are run again; when Ray
gives up, the build fails with one line and the previous index is left as it was.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from qa.encoder.embedder import Embedder
from qa.errors import QAError

INSTALL = 'indexing on Ray needs the ray package: pip install "qa[ray]"'
AHEAD = 2  # chunks queued per actor, so none waits for the driver between chunks
RETRIES = 3  # restarts of a dead worker, and re-runs of each task it had


class _EmbedActor:
    """A worker: the model, loaded once when the actor starts (rebuilt from PyPI packages if needed)."""

    def __init__(self, model: str, cache_dir: str | None, precision: str, engine: str = "torch"):
        from pathlib import Path

        self.embedder = Embedder(model, cache_dir=Path(cache_dir) if cache_dir else None, precision=precision,
                                 engine=engine)
        self.embedder.load()  # now, not inside the first task

    def work(self, texts: list[str], langs: list[str]) -> tuple[np.ndarray, list[list[str]]]:
        from qa.index import lexical

        return self.embedder.encode_passages(texts), [lexical.tokenize(t, lang) for t, lang in zip(texts, langs)]

    def pid(self) -> int:
        return os.getpid()


@dataclass
class RayWorkers:
    """Actors on a Ray cluster; ``map`` keeps AHEAD chunks in flight on each."""

    actors: list
    address: str
    name: str = "ray"

    @classmethod
    @contextlib.contextmanager
    def start(cls, embedder: Embedder, address: str | None = None) -> Iterator["RayWorkers"]:
        """Join the cluster at ``address`` (or ``RAY_ADDRESS``), or start a local Ray; actors for
        every CPU it has. A Ray started here is stopped when the build ends."""
        try:
            import ray
        except ImportError:
            raise QAError(INSTALL) from None
        started = not ray.is_initialized()
        if started:
            target = None if address in (None, "", "local") else address
            try:
                ray.init(address=target, include_dashboard=False, log_to_driver=False,
                         logging_level=logging.ERROR, configure_logging=True)
            except Exception as e:  # noqa: BLE001 - Ray fails to connect in many ways
                where = f" at {target}" if target else (f" at {os.environ['RAY_ADDRESS']}"
                                                         if os.environ.get("RAY_ADDRESS") else "")
                raise QAError(f"could not start or join Ray{where} ({_first_line(e)})") from e
        actors: list = []
        try:
            cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
            actor = ray.remote(num_cpus=1, max_restarts=RETRIES, max_task_retries=RETRIES)(_EmbedActor)
            cache = str(embedder.cache_dir) if embedder.cache_dir else None
            actors = [actor.remote(embedder.name, cache, embedder.precision, embedder.engine) for _ in range(cpus)]
            logging.getLogger("qa").info("embedding on Ray: %d workers", cpus)
            yield cls(actors, ray.get_runtime_context().gcs_address)
        finally:
            for a in actors:
                with contextlib.suppress(Exception):
                    ray.kill(a)
            if started:
                ray.shutdown()

    def map(self, chunks: Iterator[tuple[list[str], list[str]]]) -> Iterator[tuple[np.ndarray, list[list[str]]]]:
        import ray

        inflight: deque = deque()
        turn = 0
        source = iter(chunks)
        done = False
        while True:
            while not done and len(inflight) < AHEAD * len(self.actors):
                chunk = next(source, None)
                if chunk is None:
                    done = True
                    break
                texts, langs = chunk
                inflight.append(self.actors[turn % len(self.actors)].work.remote(texts, langs))
                turn += 1
            if not inflight:
                return
            try:
                vectors, words = ray.get(inflight.popleft())
            except ray.exceptions.RayError as e:
                raise QAError(f"a Ray worker failed and its chunk could not be redone ({_first_line(e)}); "
                              "the previous index, if any, is unchanged") from e
            yield np.asarray(vectors, dtype=np.float32), words


def _first_line(e: BaseException) -> str:
    text = str(e).strip().split("\n")[0][:200]
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
