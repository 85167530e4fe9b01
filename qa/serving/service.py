"""A long-lived question answerer over one index folder, shared by `qa serve`, `qa shell` and `qa mcp`.

It loads the model once and follows the folder: when `qa index` publishes a new generation, the
next question opens it (reusing the loaded model), while a question already being answered keeps
the generation it started with. It answers through `qa.api.Index`, so an answer is the same as a
local `qa ask`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from qa import __version__
from qa.api import DEFAULT_TOP_K, Index, default_index_dir
from qa.errors import QAError
from qa.index import store
from qa.types import Answer

log = logging.getLogger("qa")


class Unavailable(QAError):
    """The index folder holds no usable index right now (deleted, damaged, mid-rewrite)."""


class NotFound(QAError):
    """A document the index does not hold."""


class Changed(QAError):
    """A document whose source file no longer matches what was indexed."""


@dataclass(frozen=True)
class Loaded:
    """One opened generation of the index folder."""

    index: Index
    generation: str


class Service:
    """Answers questions from the current generation of ``folder``; thread-safe."""

    def __init__(self, folder: Path | None = None, cache_dir: Path | None = None, default: bool = False):
        self.folder = Path(folder) if folder else default_index_dir()
        self.cache_dir = cache_dir
        self._lock = threading.Lock()
        self._docs_lock = threading.Lock()
        # The tokenizer and model are not safe to call from two threads at once, and one question
        # already keeps every core busy: questions take turns.
        self._compute = threading.Lock()
        self._docs: dict[str, dict[str, str]] = {}  # generation -> doc name -> source text
        self._loaded: Loaded | None = None
        first = Index.open_or_build_default(progress=True) if default else Index.open(self.folder, cache_dir=cache_dir)
        self._loaded = Loaded(first, first.stored.generation.name)

    # -- following the folder -------------------------------------------------------------------
    def current(self) -> Index:
        """The index of the generation ``CURRENT`` names now; opened once per generation."""
        loaded = self._loaded
        gen = store.current_generation(self.folder)
        if loaded is not None and gen is not None and gen.name == loaded.generation:
            return loaded.index
        with self._lock:
            loaded = self._loaded
            gen = store.current_generation(self.folder)
            if loaded is not None and gen is not None and gen.name == loaded.generation:
                return loaded.index
            try:
                old = loaded.index if loaded else None
                reuse = old.embedder if old and _same_model(old, self.folder) else None
                fresh = Index.open(self.folder, cache_dir=self.cache_dir, _embedder=reuse)
            except QAError as e:
                raise Unavailable(f"the index is not available: {e}") from e
            self._loaded = Loaded(fresh, fresh.stored.generation.name)
            return fresh

    def warm(self) -> None:
        """Load the model, the word segmenter, the reader and their caches now, so the first real
        question is fast. A reader that cannot load is only a warning: questions without it still work."""
        with self._compute:
            idx = self.current()
            idx.ask("株洲市中心医院 hospital", top_k=1, reader=False)
            try:
                idx.ask("株洲市中心医院 hospital", top_k=1)
            except QAError as e:
                log.warning("%s; only questions without the reader can be answered", e)

    def health(self) -> dict:
        idx = self.current()
        m = idx.manifest
        return {"status": "ok", "index": str(self.folder.resolve()), "generation": idx.stored.generation.name,
                "passages": len(idx.passages), "documents": len({p.doc for p in idx.passages}),
                "model": m["model"]["name"], "index_type": m.get("index_type"), "version": __version__}

    # -- questions ----------------------------------------------------------------------------------
    def ask(self, question: str, top_k: int = DEFAULT_TOP_K, mode: str = "hybrid", show_all: bool = False,
            abstain: bool = True, reader: bool = True) -> dict:
        """The record `qa ask --json` prints (with ``show_all``); QAError for an unusable question."""
        idx = self.current()
        with self._compute:
            answer = idx.ask(question, top_k=top_k, mode=mode, abstain=abstain, reader=reader)
        return answer.to_dict(show_all=show_all)

    def batch(self, items: list[tuple[str, str]], top_k: int = DEFAULT_TOP_K, mode: str = "hybrid",
              reader: bool = True, max_chars: int | None = None) -> list[dict]:
        """One record per question, as `qa batch` writes them; a bad question gets an error record,
        and so does one longer than ``max_chars``."""
        long = {j for j, (_, q) in enumerate(items) if max_chars is not None and len(q) > max_chars}
        idx = self.current()
        with self._compute:
            answered = iter(idx.ask_many([it for j, it in enumerate(items) if j not in long], top_k=top_k,
                                         mode=mode, reader=reader) if len(long) < len(items) else [])
        return [Answer(question=q, id=qid, error=f"the question is longer than {max_chars} characters").to_dict()
                if j in long else next(answered).to_dict() for j, (qid, q) in enumerate(items)]

    # -- documents ----------------------------------------------------------------------------------
    def document(self, name: str) -> dict:
        """The source text of an indexed document and where its passages are.

        Only names the index holds are looked up, and their text comes from reading the index's own
        source paths again, so no other file can be reached through ``name``."""
        idx = self.current()
        passages = [p for p in idx.passages if p.doc == name]
        if not passages:
            raise NotFound(f"no document named '{name}' in the index")
        text = self._texts(idx).get(name)
        if text is None:
            raise Changed(f"the source of '{name}' can no longer be read: run `qa index` again")
        if any(not p.joins and text[p.start:p.end] != p.text for p in passages):
            raise Changed(f"'{name}' changed on disk since it was indexed: run `qa index` again")
        return {"doc": name, "title": passages[0].title, "text": text,
                "passages": [{"paragraph": p.paragraph, "start": p.start, "end": p.end, "line": p.line,
                              "page": p.page} for p in passages]}

    def _texts(self, idx: Index) -> dict[str, str]:
        gen = idx.stored.generation.name
        with self._docs_lock:
            if gen not in self._docs:
                from qa.documents import read_paths

                roots = [Path(r) for r in idx.manifest.get("roots", [])]
                wanted = {p.doc for p in idx.passages}
                report = read_paths(roots) if roots else None
                texts = {d.name: d.text for d in (report.documents if report else []) if d.name in wanted}
                self._docs = {gen: texts}  # only the live generation's texts are kept
            return self._docs[gen]


def _same_model(old: Index, folder: Path) -> bool:
    try:
        m = store.read_manifest(folder)
    except QAError:
        return False
    want = m.get("model", {})
    # Questions on ONNX Runtime are embedded in float32 whatever the passages were embedded in.
    return (want.get("name") == old.embedder.name
            and (old.embedder.engine == "onnx" or want.get("precision", "float32") == old.embedder.precision))
