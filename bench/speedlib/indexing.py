"""The indexing part of bench/speed.py: Index.build against a raw encode, its phases, and an unchanged re-build."""

from __future__ import annotations

import contextlib
import functools
import shutil
import statistics
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from speedlib.common import corpus_texts, log, now

# (object, attribute name, label): a function to time, and the phase it is reported as
Target = tuple[Any, str, str]


class PhaseTimer:
    """Wraps named functions of a module with timers, to split a build into its phases."""

    def __init__(self, targets: list[Target]):
        self.targets = targets
        self.times: dict[str, float] = {}
        self.saved: list[tuple[Any, str, Callable[..., Any]]] = []

    def __enter__(self) -> PhaseTimer:
        for obj, attr, label in self.targets:
            fn = getattr(obj, attr, None)
            if fn is None:
                continue
            self.saved.append((obj, attr, fn))
            setattr(obj, attr, self._wrap(fn, label))
        return self

    def _wrap(self, fn: Callable[..., Any], label: str) -> Callable[..., Any]:
        @functools.wraps(fn)
        def inner(*a: Any, **kw: Any) -> Any:
            t0 = now()
            try:
                return fn(*a, **kw)
            finally:
                self.times[label] = self.times.get(label, 0.0) + now() - t0

        return inner

    def __exit__(self, *exc: object) -> None:
        for obj, attr, fn in reversed(self.saved):
            setattr(obj, attr, fn)


def build_phases() -> list[Target]:
    """What to time inside Index.build. Nested: model load is inside embed, faiss build inside write index."""
    import qa.index.store as store
    from qa.encoder import embedder as embed
    from qa.encoder import model
    from qa.index import build

    targets = [
        (build, "split_passages", "split"),
        (build.Reuse, "open", "load old index"),
        (model, "load_model", "model load"),
        (embed.Embedder, "encode_passages", "embed"),
        (store, "publish_generation", "write index"),
        (store, "make_dense", "faiss build"),
    ]
    return targets


@contextlib.contextmanager
def time_lexical(times: dict[str, float]) -> Iterator[None]:
    """Adds the seconds spent building BM25 to ``times["bm25 build"]``."""
    from qa.index import lexical

    orig = lexical.bm25_from_ids

    def bm25_from_ids(ids: Any, vocab: Any) -> Any:
        t0 = now()
        try:
            return orig(ids, vocab)
        finally:
            times["bm25 build"] = times.get("bm25 build", 0.0) + now() - t0

    lexical.bm25_from_ids = bm25_from_ids
    try:
        yield
    finally:
        lexical.bm25_from_ids = orig


@contextlib.contextmanager
def count_embedded(counter: list[int]) -> Iterator[None]:
    """Adds the number of passages the embedder encodes to ``counter[0]``."""
    from qa.encoder.embedder import Embedder

    orig = Embedder.encode_passages

    def wrapped(self: Embedder, texts: list[str], *a: Any, **kw: Any) -> Any:
        counter[0] += len(texts)
        return orig(self, texts, *a, **kw)

    Embedder.encode_passages = wrapped
    try:
        yield
    finally:
        Embedder.encode_passages = orig


def bench_indexing(name: str, root: Path, work: Path, model: Any, cache_dir: Path | None) -> dict[str, Any]:
    from qa.api import Index
    from qa.encoder.embedder import BATCH_SIZE, _loaded
    from qa.encoder.model import model_prefixes

    texts = corpus_texts(root)
    chars = sum(len(t) for t in texts)
    prefix = model_prefixes(None)[1]
    folder = work / f"index-{name}"
    # A small corpus encodes in seconds, where one noisy second moves the ratio by 0.05: take the median
    # of several raw/build pairs. A large one takes minutes a round and averages its own noise.
    rounds = 3 if len(texts) < 1000 else 1
    raws, firsts, ratios, ratios_load = [], [], [], []
    for r in range(rounds):
        log(f"[{name}] {len(texts)} passages, {chars} chars: raw encode (round {r + 1}/{rounds})")
        t0 = now()
        model.encode([prefix + t for t in texts], batch_size=BATCH_SIZE, normalize_embeddings=True,
                     convert_to_numpy=True, show_progress_bar=False)
        raws.append(now() - t0)
        log(f"[{name}] Index.build (first, round {r + 1}/{rounds})")
        shutil.rmtree(folder, ignore_errors=True)
        _loaded.cache_clear()  # each round's build loads its model, as a first `qa index` does
        counter = [0]
        with PhaseTimer(build_phases()) as pt1, time_lexical(pt1.times), count_embedded(counter):
            t0 = now()
            Index.build([root], folder, cache_dir=cache_dir)
            firsts.append(now() - t0)
        ratios.append(raws[-1] / firsts[-1])
        # The build loads its own model; charging the raw encode the same load compares like with like.
        ratios_load.append((raws[-1] + pt1.times.get("model load", 0.0)) / firsts[-1])
    raw, first = statistics.median(raws), statistics.median(firsts)
    embedded_first = counter[0]
    log(f"[{name}] Index.build (unchanged, second)")
    counter = [0]
    with PhaseTimer(build_phases()) as pt2, time_lexical(pt2.times), count_embedded(counter):
        t0 = now()
        built = Index.build([root], folder, cache_dir=cache_dir)
        second = now() - t0
    return {
        "corpus": str(root),
        "passages": len(texts),
        "chars": chars,
        "raw_encode_s": raw,
        "raw_passages_per_s": len(texts) / raw,
        "raw_chars_per_s": chars / raw,
        "build_s": first,
        "build_passages_per_s": len(texts) / first,
        "build_chars_per_s": chars / first,
        "rounds": rounds,
        "build_over_raw": statistics.median(ratios),
        "build_over_raw_with_load": statistics.median(ratios_load),
        "build_over_raw_each": ratios,
        "build_over_raw_with_load_each": ratios_load,
        "build_phases_s": pt1.times,
        "build_embedded": embedded_first,
        "rebuild_s": second,
        "rebuild_speedup": first / second,
        "rebuild_phases_s": pt2.times,
        "rebuild_embedded": counter[0],
        "index_type": built.manifest.get("index_type"),
        "index_dir": str(folder),
    }
