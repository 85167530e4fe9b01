"""Builds an index generation as a stream, so its memory does not grow with the corpus.

Documents are read one file at a time and split, and each passage's language is told (``qa.index.languages``,
by document); each passage goes straight to ``passages.jsonl``. Passages the previous index already
holds (same model, same text) take its vector, and its words when read in the same language by the
same analyzer; the others are sent out in chunks to be embedded and tokenized (here, or on Ray workers: ``Workers``),
and vectors are appended to ``vectors.npy`` as chunks come back, in passage order. BM25 is built at
the end from the word ids, written to a file as they come and read back memory-mapped, a slice of
passages at a time (``qa.index.bm25``). What grows in memory with the corpus is the BM25 matrix being built,
the vocabulary and 8 bytes a passage of offsets.
"""

from __future__ import annotations

import json
import logging
import shutil
from array import array
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.documents import ReadReport, iter_documents
from qa.documents.paragraphs import split_passages
from qa.encoder.embedder import Embedder, passage_text, text_key
from qa.errors import QAError
from qa.index import lexical as lexical_mod
from qa.index import store
from qa.index.languages import ANALYZER_VERSION, detect_passages
from qa.index.lexical import LANGS_FILE, TOKENS_FILE, LexicalIndex
from qa.index.progress import passage_progress
from qa.types import passage_to_dict

log = logging.getLogger("qa")

CHUNK = 256  # passages a unit of work: a Ray task, or one call of the local model


# -- what the previous index can give back -------------------------------------------------------
def _hash(key: str) -> int:
    return int(key[:16], 16)  # 64 bits of a sha1: a clash in ten million keys is a 1e-5 chance


class Reuse:
    """The previous generation's vectors and words, looked up by embedding key without loading it:
    16 bytes a passage of lookup table, vectors and words read from disk as they are needed."""

    def __init__(self, gen: Path, hashes: np.ndarray, rows: np.ndarray, vectors: np.ndarray,
                 analyzer: int | None = None):
        self.gen = gen
        self.hashes, self.rows, self.vectors = hashes, rows, vectors
        self._tokens_at: np.ndarray | None = None
        self._tokens_file = None
        self._langs: list[str] | None = None
        self.words_reusable = analyzer == ANALYZER_VERSION  # words of an older analyzer are read again

    @classmethod
    def open(cls, folder: Path, model_name: str) -> "Reuse | None":
        """None when there is no usable index in ``folder`` built with ``model_name``."""
        if not store.exists(folder):
            return None
        try:
            gen = store.current_generation(folder)
            manifest = store.read_manifest(folder, gen)
            store.verify(folder, manifest, gen=gen)
            if manifest.get("model", {}).get("name") != model_name or gen is None:
                return None
            with (gen / "keys.txt").open(encoding="ascii") as f:
                hashes = np.fromiter((_hash(line) for line in f if line.strip()), dtype=np.uint64)
            vectors = np.load(gen / "vectors.npy", mmap_mode="r")
        except (QAError, OSError, ValueError):
            return None
        if len(hashes) != vectors.shape[0] or len(hashes) != manifest.get("passages"):
            return None
        order = np.argsort(hashes, kind="stable")
        return cls(gen, hashes[order], order, vectors, manifest.get("analyzer"))

    def row(self, key: str) -> int:
        """The previous row of ``key``, or -1."""
        h = np.uint64(_hash(key))
        i = int(np.searchsorted(self.hashes, h))
        return int(self.rows[i]) if i < len(self.hashes) and self.hashes[i] == h else -1

    def tokens(self, row: int, lang: str) -> list[str] | None:
        """The words the previous build found in passage ``row`` read as ``lang``, or None if it kept
        none, or read it otherwise."""
        if not self.words_reusable:
            return None
        if self._langs is None:
            path = self.gen / "lexical" / LANGS_FILE
            self._langs = path.read_text(encoding="utf-8").split() if path.is_file() else []
        if len(self._langs) != len(self.hashes) or self._langs[row] != lang:
            return None
        if self._tokens_at is None:
            path = self.gen / "lexical" / TOKENS_FILE
            if not path.is_file():
                self._tokens_at = np.zeros(0, dtype=np.int64)
            else:
                with path.open("rb") as f:
                    lengths = np.fromiter((len(line) for line in f), dtype=np.int64)
                self._tokens_at = np.concatenate([[0], np.cumsum(lengths)])[:-1]
                self._tokens_file = path.open("rb")
        if len(self._tokens_at) != len(self.hashes):
            return None
        self._tokens_file.seek(int(self._tokens_at[row]))
        line = self._tokens_file.readline().decode("utf-8").rstrip("\n")
        return line.split("\t") if line else []

    def close(self) -> None:
        if self._tokens_file is not None:
            self._tokens_file.close()


# -- who embeds ------------------------------------------------------------------------------------
class Workers(Protocol):
    """Embeds and tokenizes chunks of passage texts (with each one's language); results come back in
    the order sent."""

    name: str

    def map(self, chunks: Iterator[tuple[list[str], list[str]]]) -> Iterator[tuple[np.ndarray, list[list[str]]]]: ...


@dataclass
class LocalWorkers:
    """This process: the model loaded once, chunks done one after the other."""

    embedder: Embedder
    name: str = "local"

    def map(self, chunks: Iterator[tuple[list[str], list[str]]]) -> Iterator[tuple[np.ndarray, list[list[str]]]]:
        for texts, langs in chunks:
            yield self.embedder.encode_passages(texts), [lexical_mod.tokenize(t, g) for t, g in zip(texts, langs)]


# -- writing ---------------------------------------------------------------------------------------
class VectorFile:
    """``vectors.npy`` written as rows arrive; the header, with the final count, is written last."""

    HEADER = 128  # bytes; a multiple of 64 as the .npy format asks

    def __init__(self, path: Path):
        self.path = path
        self.f = path.open("wb")
        self.f.write(b"\0" * self.HEADER)
        self.n = 0
        self.dim: int | None = None

    def append(self, rows: np.ndarray) -> None:
        if self.dim is None:
            self.dim = int(rows.shape[1])
        self.f.write(np.ascontiguousarray(rows, dtype="<f4").tobytes())
        self.n += len(rows)

    def close(self) -> None:
        text = repr({"descr": "<f4", "fortran_order": False, "shape": (self.n, self.dim or 0)})
        body = text.encode("latin-1").ljust(self.HEADER - 10 - 1) + b"\n"
        self.f.seek(0)
        self.f.write(b"\x93NUMPY\x01\x00" + len(body).to_bytes(2, "little") + body)
        self.f.close()


class TokenIds(Sequence):
    """Every passage's word ids end to end, and where each passage ends: what the BM25 build reads, a
    list a passage on demand. Given a path, the ids go to that file as they come (a million at a time)
    and are read back memory-mapped, so a build holds none of them: at ten million passages they are
    some 5 GB."""

    BUFFER = 1 << 20

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._buf = array("i")
        self._file = path.open("wb") if path is not None else None
        self._written = 0
        self._flat: np.ndarray | None = None
        self.ends = array("q")
        self.vocab: dict[str, int] = {}

    def add(self, words: list[str]) -> None:
        self._buf.extend(self.vocab.setdefault(w, len(self.vocab)) for w in words)
        self.ends.append(self._written + len(self._buf))
        if self._file is not None and len(self._buf) >= self.BUFFER:
            self._buf.tofile(self._file)
            self._written += len(self._buf)
            self._buf = array("i")

    @property
    def flat(self) -> np.ndarray:
        """All ids; once read, no more can be added."""
        if self._flat is None:
            if self._file is None:
                self._flat = np.asarray(self._buf)
            else:
                self._buf.tofile(self._file)
                self._written += len(self._buf)
                self._buf = array("i")
                self._file.close()
                self._flat = (np.memmap(self.path, dtype=np.int32, mode="r") if self._written
                              else np.zeros(0, dtype=np.int32))
        return self._flat

    def close(self) -> None:
        """Drops the file (the BM25 matrix holds what it was for)."""
        if self._file is not None:
            self._file.close()
            self._flat = None
            self.path.unlink(missing_ok=True)

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        start = self.ends[i - 1] if i > 0 else 0
        return self.flat[start:self.ends[i]].tolist()

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


@dataclass
class _Pending:
    """A chunk of passages in order: reused rows carry their vector and words, new rows None."""

    vectors: list[np.ndarray | None] = field(default_factory=list)
    words: list[list[str] | None] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # of the new rows, in order
    langs: list[str] = field(default_factory=list)  # of every row
    new_langs: list[str] = field(default_factory=list)  # of the new rows


@dataclass
class BuildStats:
    passages: int = 0
    documents: int = 0
    embedded: int = 0
    reused: int = 0
    languages: dict[str, int] = field(default_factory=dict)  # passages per language, most first


def stream_build(paths: Sequence[Path], folder: Path, embedder: Embedder, workers: Workers,
                 reuse: Reuse | None, report: ReadReport, progress: bool = False) -> tuple[Path, BuildStats]:
    """Write a new (unpublished) generation of ``paths`` in ``folder``; returns it and what was done."""
    gen = store.new_generation(folder)
    stats = BuildStats()
    try:
        (gen / "lexical").mkdir()
        vec = VectorFile(gen / "vectors.npy")
        ids = TokenIds(gen / "lexical" / "ids.tmp")
        langs: list[str] = []
        with (gen / "passages.jsonl").open("w", encoding="utf-8") as pf, \
                (gen / "keys.txt").open("w", encoding="ascii") as kf, \
                (gen / "lexical" / TOKENS_FILE).open("w", encoding="utf-8") as tf:
            chunks: deque[_Pending] = deque()

            def texts_to_send() -> Iterator[list[str]]:
                for chunk in _chunks(paths, report, pf, kf, embedder, reuse, stats):
                    chunks.append(chunk)
                    if chunk.texts:
                        yield chunk.texts, chunk.new_langs

            bar = passage_progress(progress)
            for vectors, words in workers.map(texts_to_send()):
                # everything queued before this chunk was reused only: nothing to wait for
                while chunks and not chunks[0].texts:
                    _write(chunks.popleft(), None, None, vec, ids, langs, tf, bar)
                _write(chunks.popleft(), vectors, words, vec, ids, langs, tf, bar)
            while chunks:
                _write(chunks.popleft(), None, None, vec, ids, langs, tf, bar)
            if bar is not None:
                bar.close()
        vec.close()
        if stats.passages == 0:
            ids.close()
            return gen, stats
        lexical = LexicalIndex(lexical_mod.bm25_from_ids(ids, ids.vocab), ids.vocab, langs=langs)
        ids.close()
        lexical.save(gen / "lexical")
        stats.languages = lexical.languages
    except BaseException as e:
        err = store.discard_generation(folder, gen, e)
        if err is e:
            raise
        raise err from e
    finally:
        if reuse is not None:
            reuse.close()
    return gen, stats


def unchanged(folder: Path, gen: Path) -> None:
    """Drop a generation that is not to be published (the index was up to date, or empty)."""
    shutil.rmtree(gen, ignore_errors=True)


def _chunks(paths, report, pf, kf, embedder: Embedder, reuse: Reuse | None, stats: BuildStats) -> Iterator[_Pending]:
    """Read and split documents, write passages and keys, and cut the stream into chunks of
    CHUNK passages to embed (a run of reused passages is cut at 4 x CHUNK, to bound the queue)."""
    chunk = _Pending()
    for doc in iter_documents(list(paths), report):
        stats.documents += 1
        passages = split_passages(doc)
        for p, lang in zip(passages, detect_passages([p.text for p in passages], [p.doc for p in passages])):
            text = passage_text(p)
            key = text_key(embedder.key_name, text)
            pf.write(json.dumps(passage_to_dict(p), ensure_ascii=False) + "\n")
            kf.write(key + "\n")
            stats.passages += 1
            row = reuse.row(key) if reuse is not None else -1
            if row >= 0:
                stats.reused += 1
                chunk.vectors.append(np.asarray(reuse.vectors[row], dtype=np.float32))
                words = reuse.tokens(row, lang)
                chunk.words.append(words if words is not None else lexical_mod.tokenize(text, lang))
            else:
                stats.embedded += 1
                chunk.vectors.append(None)
                chunk.words.append(None)
                chunk.texts.append(text)
                chunk.new_langs.append(lang)
            chunk.langs.append(lang)
            if len(chunk.texts) >= CHUNK or len(chunk.vectors) >= 4 * CHUNK:
                yield chunk
                chunk = _Pending()
    if chunk.vectors:
        yield chunk


def _write(chunk: _Pending, vectors, words, vec: VectorFile, ids: TokenIds, langs: list[str], tf, bar) -> None:
    fresh = iter(range(len(chunk.texts)))
    rows = []
    for v, w in zip(chunk.vectors, chunk.words):
        if v is None:
            j = next(fresh)
            v, w = vectors[j], words[j]
        rows.append(v)
        ids.add(w)
        tf.write("\t".join(w) + "\n")
    vec.append(np.stack(rows))
    langs.extend(chunk.langs)
    if bar is not None:
        bar.update(len(rows))

