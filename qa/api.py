"""The Python API: build or open an index, then ask it questions. The CLI is a thin shell over this."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from qa.encoder.cpu import bf16_is_native
from qa.encoder.embedder import Embedder
from qa.errors import QAError
from qa.index import store
from qa.index.languages import ANALYZER_VERSION, CHINESE, prepare_pos_tagging, write_jieba_tables
from qa.judge.judging import JudgePolicy, evidence_of, read_and_judge
from qa.judge.verifier import Verifier, shared_verifier
from qa.reader.model import Reader
from qa.reader.reading import ReadingPolicy, shared_reader
from qa.search.answerer import AbstainRule, Answerer
from qa.search.retriever import MODES, FusionWeights, Retriever
from qa.types import Answer, Passage

log = logging.getLogger("qa")

_PROJECT = Path(__file__).resolve().parents[1]
DEFAULT_TOP_K = 5


def project_root() -> Path:
    """Where the default corpus and index live: the source checkout if run from one, else here."""
    return _PROJECT if (_PROJECT / "seeds").is_dir() else Path.cwd()


def default_corpus() -> Path:
    return project_root() / "seeds"


def default_index_dir() -> Path:
    return project_root() / "embeddings"


def check_question(question: str) -> str:
    """A question worth embedding, or a QAError that says what is wrong with it."""
    q = (question or "").strip()
    if not q:
        raise QAError("the question is empty")
    if not any(ch.isalnum() for ch in q):
        raise QAError("the question has no words, only punctuation or symbols")
    return q


class Index:
    """A searchable index on disk with the model that built it."""

    def __init__(self, stored: store.StoredIndex, embedder: Embedder):
        self.stored = stored
        self.embedder = embedder
        self.retriever = Retriever(stored, FusionWeights())
        from qa.encoder.model import DEFAULT_MODEL

        rule = AbstainRule(use_dense=stored.model_name == DEFAULT_MODEL)
        self.answerer = Answerer(stored.passages, stored.vectors, stored.lexical, embedder, rule)
        self.reading = ReadingPolicy()
        self.reader_weights: Path | None = None  # None: the weights shipped with qa
        self.judging = JudgePolicy()
        self._evidence = None

    @property
    def passages(self) -> list[Passage]:
        return self.stored.passages

    @property
    def folder(self) -> Path:
        return self.stored.folder

    @property
    def manifest(self) -> dict:
        return self.stored.manifest

    # -- building ---------------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        paths: Sequence[str | Path],
        index_dir: str | Path | None = None,
        model: str | None = None,
        cache_dir: Path | None = None,
        index_type: str = "auto",
        progress: bool = False,
        precision: str | None = None,
        ray: str | bool | None = None,
        engine: str = "auto",
    ) -> "Index":
        """Read, split, embed and store ``paths``; reuses vectors of unchanged passages of an old index.

        ``precision`` ``bf16`` embeds in bfloat16 (torch): 2.5x faster where the CPU has AMX/AVX512-BF16, at a
        small cost in quality (BENCHMARKS.md). ``engine`` torch or onnx (the default model only); ``auto``
        picks torch in bf16 on a CPU with native bf16, else ONNX Runtime in float32 (docs/engines.md).
        Questions are embedded with ONNX Runtime in float32 whatever embedded the passages.

        ``ray``: embed and tokenize on Ray workers; True starts a local Ray (or joins ``RAY_ADDRESS``),
        a string is the address of a cluster to join. The index is written here, by this process."""
        folder = Path(index_dir) if index_dir else default_index_dir()
        embedder = Embedder(model, cache_dir=cache_dir, precision=precision, engine=engine, indexing=True)
        if embedder.precision == "bfloat16" and not bf16_is_native():
            log.warning("this CPU has no native bfloat16 (AMX or AVX512-BF16): bf16 will be slower than float32")
        store.choose_index_type(0, index_type)  # a bad --index-type fails before any work
        from qa.documents import ReadReport
        from qa.index.build import Reuse, stream_build, unchanged

        with store.write_lock(folder), _workers(embedder, ray) as workers:
            report = ReadReport()
            reuse = Reuse.open(folder, embedder.name)
            gen, stats = stream_build([Path(p) for p in paths], folder, embedder, workers, reuse, report, progress)
            for path, reason in report.skipped:
                log.warning("skipped %s: %s", path, reason)
            if stats.passages == 0:
                unchanged(folder, gen)
                raise QAError(f"nothing to index: no readable text in {', '.join(map(str, paths))}")
            sources = [{"name": s.name, "path": str(s.path), "sha256": s.sha256, "size": s.size}
                       for s in report.sources]
            if stats.embedded == 0 and _up_to_date(folder, embedder, sources, index_type):
                unchanged(folder, gen)
                log.info("the index in %s is up to date with %d files", folder, len(sources))
                return cls.open(folder, model=model, cache_dir=cache_dir)
            log.info("%d passages from %d documents; %d embedded, %d reused",
                     stats.passages, stats.documents, stats.embedded, stats.reused)
            dim = np.load(gen / "vectors.npy", mmap_mode="r").shape[1]
            meta = {
                "model": {"name": embedder.name, "dim": int(dim), "precision": embedder.precision,
                          "engine": embedder.engine},
                "index_type_requested": index_type,
                "sources": sources,
                "roots": [str(Path(p).resolve()) for p in paths],
                "skipped": [{"path": p, "reason": r} for p, r in report.skipped],
                "languages": stats.languages,
                "analyzer": ANALYZER_VERSION,
                "engine": workers.name,
            }
            store.publish_generation(folder, gen, stats.passages, meta, index_type=index_type)
        if CHINESE in stats.languages:
            write_jieba_tables()  # here, once, rather than in the first question's cold start
        return cls.open(folder, model=model, cache_dir=cache_dir)

    @classmethod
    def open(cls, index_dir: str | Path | None = None, model: str | None = None,
             cache_dir: Path | None = None, _embedder: Embedder | None = None) -> "Index":
        """Open an index; asking with another model than the one that built it is an error."""
        folder = Path(index_dir) if index_dir else default_index_dir()
        stored = store.open_index(folder)
        built_with = stored.model_name
        if model and model != built_with:
            raise QAError(
                f"the index in {folder} was built with model '{built_with}', not '{model}': "
                f"rebuild it with `qa index PATH --index {folder} --model {model}` or drop --model"
            )
        precision = stored.manifest["model"].get("precision", "float32")
        embedder = _embedder or _query_embedder(built_with, cache_dir, precision)
        return cls(stored, embedder)

    @classmethod
    def open_or_build_default(cls, progress: bool = False) -> "Index":
        """The default index of ``seeds/``, built on first use."""
        folder = default_index_dir()
        if not store.exists(folder):
            corpus = default_corpus()
            if not corpus.is_dir():
                raise QAError(f"no index in {folder} and no {corpus} to build one from: run `qa index PATH`")
            log.info("building the default index of %s in %s (first use)", corpus, folder)
            return cls.build([corpus], folder, progress=progress)
        return cls.open(folder)

    # -- asking -------------------------------------------------------------------------------------
    def ask(self, question: str, top_k: int = DEFAULT_TOP_K, mode: str = "hybrid", abstain: bool = True,
            reader: bool = True) -> Answer:
        """Ranked, cited passages for one question, with the answer the reader picks out of them
        (``reader=False``: passages and sentences only); raises QAError for an unusable question."""
        answer = self.ask_many([question], top_k=top_k, mode=mode, abstain=abstain, reader=reader)[0]
        if answer.error:
            raise QAError(answer.error)
        return answer

    def ask_many(
        self,
        questions: Iterable[str | tuple[str, str]],
        top_k: int = DEFAULT_TOP_K,
        mode: str = "hybrid",
        abstain: bool = True,
        batch_size: int = 64,
        reader: bool = True,
    ) -> list[Answer]:
        """Answer many questions, embedding them in batches; a bad question gets an error entry."""
        if mode not in MODES:
            raise QAError(f"unknown mode '{mode}': use one of {', '.join(MODES)}")
        if top_k < 1:
            raise QAError("--top-k must be at least 1")
        items = [(q if isinstance(q, tuple) else (str(i + 1), q)) for i, q in enumerate(questions)]
        answers: list[Answer] = []
        for s in range(0, len(items), batch_size):
            answers.extend(self._answer_batch(items[s:s + batch_size], top_k, mode, abstain, reader))
        return answers

    def _answer_batch(self, items: list[tuple[str, str]], top_k: int, mode: str, abstain: bool,
                      reader: bool) -> list[Answer]:
        out: list[Answer | None] = [None] * len(items)
        good: list[tuple[int, str]] = []
        for j, (qid, q) in enumerate(items):
            try:
                good.append((j, self._fit(check_question(q))))
            except QAError as e:
                out[j] = Answer(question=q or "", id=qid, error=str(e))
        if not good:
            return [a for a in out if a is not None]
        self._check_model()
        qs = [q for _, q in good]
        answers = self.answer_vectors(qs, self.embed_questions(qs), top_k, mode, abstain,
                                      ids=[items[j][0] for j, _ in good], reader=reader)
        for (j, _), a in zip(good, answers):
            out[j] = a
        return [a for a in out if a is not None]

    def embed_questions(self, questions: list[str]) -> np.ndarray:
        """Question vectors, in batches; ``ask_many`` uses these, ``evaluate`` reuses them across modes."""
        if not questions:
            return np.zeros((0, self.stored.dim), dtype=np.float32)
        return self.embedder.encode_queries(questions)

    def answer_vectors(self, questions: list[str], vectors: np.ndarray, top_k: int = DEFAULT_TOP_K,
                       mode: str = "hybrid", abstain: bool = True, ids: list[str] | None = None,
                       reader: bool = True) -> list[Answer]:
        """Answers for already-checked questions whose vectors are known."""
        ids = ids or [str(i + 1) for i in range(len(questions))]
        answers = [
            self.answerer.compose(q, v, self.retriever.search(q, v, top_k * 3, mode), top_k, qid=i, abstain=abstain)
            for q, v, i in zip(questions, vectors, ids)
        ]
        if reader:
            if self._evidence is None:
                self._evidence = evidence_of(self.answerer)
            prepare_pos_tagging()  # the judgement tags words with jieba.posseg: from the tables, not loaded whole
            answers = read_and_judge(self.reader, answers, vectors, self.reading, self._evidence,
                                     self.verifier, abstain=abstain)
        return answers

    @property
    def verifier(self) -> Verifier | None:
        """The answer verifier (None when switched off: the reader's margin alone decides)."""
        return shared_verifier(self.judging.weights) if self.judging.verifier else None

    @property
    def reader(self) -> Reader:
        """The extractive reader, loaded on first use and shared by every index of the process."""
        return shared_reader(self.reader_weights, self.embedder.cache_dir)

    def _fit(self, question: str) -> str:
        """Cut a question the model cannot take whole, with a warning."""
        limit = self.embedder.max_tokens - 8
        if len(question) < limit // 2:
            return question
        ids = self.embedder.token_ids(question, special=False)
        if len(ids) <= limit:
            return question
        cut = self.embedder.decode(ids[:limit])
        cut = question[: len(cut)] if question.startswith(cut[:20]) else cut
        log.warning("question truncated to %d tokens (the model's limit)", limit)
        return cut

    def _check_model(self) -> None:
        if self.embedder.dim != self.stored.dim:
            raise QAError(
                f"model '{self.embedder.name}' gives {self.embedder.dim}-dim vectors but the index in "
                f"{self.folder} holds {self.stored.dim}-dim ones: rebuild it with `qa index`"
            )


def _query_embedder(name: str, cache_dir: Path | None, precision: str) -> Embedder:
    """The embedder for questions: the default model on ONNX Runtime in float32, whatever embedded the
    passages (vectors agree: BENCHMARKS.md, "Engines"); other models (or QA_ENGINE=torch) on torch in the
    index's precision."""
    from qa.encoder.embedder import choose_engine

    engine, _ = choose_engine(name)
    if engine == "onnx":
        return Embedder(name, cache_dir=cache_dir, precision="float32", engine="onnx")
    return Embedder(name, cache_dir=cache_dir, precision=precision if precision != "int8" else "float32",
                    engine="torch")


def _up_to_date(folder: Path, embedder: Embedder, sources: list[dict], index_type: str) -> bool:
    """True when the index in ``folder`` was built by this version, with this model and index type,
    from exactly these files (same paths, sizes and checksums): rebuilding it would change nothing."""
    from qa import __version__

    if not store.exists(folder):
        return False
    try:
        m = store.read_manifest(folder)
    except QAError:
        return False
    return (
        m.get("format") == store.FORMAT
        and m.get("tool_version") == __version__
        and m.get("model", {}).get("name") == embedder.name
        and m.get("model", {}).get("precision", "float32") == embedder.precision
        and m.get("model", {}).get("engine", "torch") == embedder.engine
        and m.get("index_type_requested") == index_type
        and m.get("sources") == sources
        and m.get("analyzer") == ANALYZER_VERSION  # BM25 words from an older analyzer are redone
    )


@contextlib.contextmanager
def _workers(embedder: Embedder, ray: str | bool | None) -> Iterator:
    """This process, or Ray workers (started here or joined) for as long as the build runs."""
    if ray is None or ray is False:
        from qa.index.build import LocalWorkers

        yield LocalWorkers(embedder)
        return
    from qa.index.ray_workers import RayWorkers

    with RayWorkers.start(embedder, None if ray is True else str(ray)) as workers:
        yield workers
