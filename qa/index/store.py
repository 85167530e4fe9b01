"""The index on disk: passages, vectors, FAISS and BM25 files and a manifest, published atomically.

A folder holds generations (``gen-*/``) and a ``CURRENT`` file naming the live one. A build writes a
new generation, then replaces ``CURRENT`` in one rename: a reader sees the old index or the new one,
never a half-written one, and a killed build leaves the old one in place.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa import __version__
from qa.errors import QAError
from qa.index import ivfpq
from qa.index.lexical import LexicalIndex
from qa.types import Passage, passage_from_dict, passage_to_dict

FORMAT = 1
CURRENT = "CURRENT"
LOCK = ".lock"
# Exact search reads every vector (1.5 KB each) per question: ~0.15 ms per 1,000 passages on one core,
# so ~7 ms at 50k. Above that HNSW answers in well under a millisecond at recall@10 >= 0.99.
EXACT_LIMIT = 50_000
# HNSW holds every float vector and its graph in memory (~1.7 KB a passage); above this many
# passages IVF-PQ (48 bytes a passage, shortlist re-ranked from disk) is chosen instead.
IVFPQ_LIMIT = 5_000_000
INDEX_TYPES = ("auto", "flat", "hnsw", "ivfpq")


@dataclass
class StoredIndex:
    """An opened index: everything needed to answer questions, read from one generation."""

    folder: Path
    manifest: dict
    passages: list[Passage]
    vectors: np.ndarray
    dense: object  # faiss.Index
    lexical: LexicalIndex
    generation: Path

    def keys(self) -> list[str]:
        path = self.generation / "keys.txt"
        return path.read_text(encoding="ascii").split() if path.is_file() else []

    @property
    def model_name(self) -> str:
        return self.manifest["model"]["name"]

    @property
    def dim(self) -> int:
        return int(self.manifest["model"]["dim"])


def choose_index_type(n: int, requested: str = "auto") -> str:
    """``flat`` (exact) up to EXACT_LIMIT passages, ``hnsw`` up to IVFPQ_LIMIT, ``ivfpq`` above;
    a forced type wins."""
    if requested not in INDEX_TYPES:
        raise QAError(f"unknown index type '{requested}': use one of {', '.join(INDEX_TYPES)}")
    if requested != "auto":
        return requested
    return "flat" if n <= EXACT_LIMIT else "hnsw" if n <= IVFPQ_LIMIT else "ivfpq"


def make_dense(vectors: np.ndarray, kind: str, m: int = 32, ef_construction: int = 128, ef_search: int = 128):
    """A FAISS inner-product index of unit ``vectors``: exact (``flat``) or an HNSW graph.

    HNSW: ``m`` links a node (2*m on the base layer), ``ef_construction``/``ef_search`` candidates
    kept while building/searching. On 1M clustered 384-dim vectors (bench/speed.py) these give
    recall@10 >= 0.98 at ~1 ms a question on one core; a lower ef_construction leaves clusters badly
    linked, so recall stalls below 0.98 whatever ef_search. FAISS saves ef_search with the index,
    and searches with max(ef_search, k) candidates.
    """
    import faiss

    if kind == "ivfpq":
        return ivfpq.build(vectors, ivfpq.settings_for(len(vectors), vectors.shape[1]))
    dim = vectors.shape[1]
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
        index.hnsw.efSearch = ef_search
    elif kind == "flat":
        index = faiss.IndexFlatIP(dim)
    else:
        raise QAError(f"unknown index type '{kind}': use flat, hnsw or ivfpq")
    # In chunks: ``vectors`` may be a memory map of the file, never read into memory whole.
    for start in range(0, len(vectors), 65536):
        index.add(np.ascontiguousarray(vectors[start:start + 65536], dtype=np.float32))
    return index


@contextlib.contextmanager
def write_lock(folder: Path) -> Iterator[None]:
    """One writer per index folder; a second one fails at once instead of waiting.

    The lock is an flock on ``.lock``: the kernel drops it when the holder exits, however it dies.
    """
    import fcntl

    try:
        folder.mkdir(parents=True, exist_ok=True)
        f = (folder / LOCK).open("a")
    except OSError as e:
        raise QAError(f"cannot write an index in {folder}: {e.strerror or e}") from e
    with f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EACCES):
                raise QAError(f"another qa process is writing the index in {folder}; wait for it to finish") from e
            raise QAError(f"cannot lock the index in {folder}: {e.strerror or e}") from e
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def write_index(
    folder: Path,
    passages: list[Passage],
    vectors: np.ndarray,
    lexical: LexicalIndex,
    meta: dict,
    keys: list[str],
    index_type: str = "auto",
) -> Path:
    """Write a new generation from passages and vectors in memory and make it current.
    Call under ``write_lock``; ``qa.index.build`` writes large indexes piece by piece instead."""
    gen = new_generation(folder)
    try:
        with (gen / "passages.jsonl").open("w", encoding="utf-8") as f:
            for p in passages:
                f.write(json.dumps(passage_to_dict(p), ensure_ascii=False) + "\n")
        np.save(gen / "vectors.npy", vectors.astype(np.float32, copy=False))
        # Embedding-cache keys (model + passage text), so a rebuild re-embeds only what changed.
        (gen / "keys.txt").write_text("".join(k + "\n" for k in keys), encoding="ascii")
        (gen / "lexical").mkdir()
        lexical.save(gen / "lexical")
    except BaseException as e:
        err = discard_generation(folder, gen, e)
        if err is e:
            raise
        raise err from e
    return publish_generation(folder, gen, len(passages), meta, index_type)


def new_generation(folder: Path) -> Path:
    """An empty generation folder to write into; nothing reads it until ``publish_generation``."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"gen-{stamp}-", dir=folder))
    except OSError as e:
        raise QAError(f"cannot write an index in {folder}: {e.strerror or e}") from e


def discard_generation(folder: Path, gen: Path, error: BaseException) -> BaseException:
    """Remove a half-written generation; returns the error to raise (a QAError for an OSError)."""
    shutil.rmtree(gen, ignore_errors=True)
    if isinstance(error, OSError):
        return QAError(f"could not write the index in {folder} ({error.strerror or error}); "
                       "the previous index, if any, is unchanged")
    return error


def publish_generation(folder: Path, gen: Path, n: int, meta: dict, index_type: str = "auto") -> Path:
    """Build the FAISS index from ``gen/vectors.npy``, write the manifest and make ``gen`` current.

    ``gen`` already holds passages.jsonl, vectors.npy, keys.txt and lexical/."""
    import faiss

    try:
        kind = choose_index_type(n, index_type)
        vectors = np.load(gen / "vectors.npy", mmap_mode="r")
        dense = make_dense(vectors, kind)
        faiss.write_index(dense, str(gen / "dense.faiss"))
        del vectors
        from qa.documents import sha256_of

        files = {
            str(p.relative_to(gen)): {"size": p.stat().st_size, "sha256": sha256_of(p)}
            for p in sorted(gen.rglob("*")) if p.is_file()
        }
        manifest = {
            "format": FORMAT,
            "tool_version": __version__,
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "passages": n,
            "index_type": kind,
            **({"hnsw": {"M": int(dense.hnsw.nb_neighbors(1)), "efConstruction": int(dense.hnsw.efConstruction),
                         "efSearch": int(dense.hnsw.efSearch)}} if kind == "hnsw" else {}),
            **({"ivfpq": ivfpq.settings_for(n, dense.d).to_dict()} if kind == "ivfpq" else {}),
            **meta,
            "files": files,
        }
        (gen / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        _fsync_tree(gen)
        tmp = folder / f"{CURRENT}.tmp"
        with tmp.open("w", encoding="utf-8") as f:
            f.write(gen.name + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, folder / CURRENT)
        # the rename itself is durable only once the folder is synced
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except BaseException as e:
        err = discard_generation(folder, gen, e)
        if err is e:
            raise
        raise err from e
    _drop_old_generations(folder, keep=gen.name)
    return gen


def _fsync_tree(root: Path) -> None:
    for p in root.rglob("*"):
        if p.is_file():
            with p.open("rb") as f:
                os.fsync(f.fileno())


def _drop_old_generations(folder: Path, keep: str) -> None:
    for p in folder.glob("gen-*"):
        if p.is_dir() and p.name != keep:
            shutil.rmtree(p, ignore_errors=True)


def current_generation(folder: Path) -> Path | None:
    pointer = folder / CURRENT
    if not pointer.is_file():
        return None
    gen = folder / pointer.read_text(encoding="utf-8").strip()
    return gen if gen.is_dir() else None


def exists(folder: Path) -> bool:
    return current_generation(folder) is not None


def read_manifest(folder: Path, gen: Path | None = None) -> dict:
    """The manifest of the current generation (or of ``gen``); QAError if there is none or it is damaged."""
    gen = gen or current_generation(folder)
    if gen is None:
        if (folder / CURRENT).is_file():
            raise QAError(f"the index in {folder} is damaged (CURRENT names a missing generation); "
                          f"rebuild it with `qa index PATH --index {folder}`")
        raise QAError(f"no index in {folder}: build one with `qa index PATH --index {folder}`")
    try:
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise QAError(f"the index in {folder} is damaged (unreadable manifest); rebuild it with `qa index`") from e
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise QAError(f"the index in {folder} is damaged (manifest lists no files); rebuild it with `qa index`")
    return manifest


_REQUIRED = ("passages.jsonl", "vectors.npy", "dense.faiss")


def _sha256(path: Path) -> str:
    # imported here: the document readers (charset-normalizer and more) are no part of answering a question
    from qa.documents import sha256_of

    return sha256_of(path)


def verify(folder: Path, manifest: dict, checksums: bool = False, gen: Path | None = None) -> None:
    """Check every file the manifest lists is there with its recorded size (and checksum)."""
    gen = gen or current_generation(folder)
    if gen is None:
        raise QAError(f"no index in {folder}: build one with `qa index PATH --index {folder}`")
    files = manifest.get("files", {})
    for name in _REQUIRED:
        if name not in files:
            raise QAError(f"the index in {folder} is damaged (manifest does not list {name}); rebuild it with `qa index`")
    for name, info in files.items():
        path = gen / name
        try:
            size, digest = int(info["size"]), info["sha256"]
            ok = path.is_file() and path.stat().st_size == size and (not checksums or _sha256(path) == digest)
        except (OSError, KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            raise QAError(f"the index in {folder} is damaged ({name} was changed or truncated); rebuild it with `qa index`")


def open_index(folder: Path, checksums: bool = False) -> StoredIndex:
    """Open the current generation; sizes are checked always, sha256 sums when ``checksums``.

    A writer may publish a new generation and drop this one while it is being read: then the
    new current one is opened instead.
    """
    import faiss

    for attempt in range(3):
        gen = current_generation(folder)
        try:
            manifest = read_manifest(folder, gen)
            assert gen is not None
            if manifest.get("format") != FORMAT:
                raise QAError(f"the index in {folder} has format {manifest.get('format')}, "
                              f"this qa reads {FORMAT}; rebuild it")
            verify(folder, manifest, checksums, gen)
            try:
                with (gen / "passages.jsonl").open(encoding="utf-8") as f:
                    passages = [passage_from_dict(json.loads(line)) for line in f]
                vectors = np.load(gen / "vectors.npy", mmap_mode="r")
                dense = faiss.read_index(str(gen / "dense.faiss"))
                if manifest.get("index_type") == "ivfpq":
                    dense = ivfpq.Reranked(dense, vectors, ivfpq.IVFPQSettings.from_dict(manifest["ivfpq"]))
                lexical = LexicalIndex.load(gen / "lexical")
            except Exception as e:  # any damage the size check missed ends here, as a user error
                raise QAError(f"the index in {folder} is damaged ({type(e).__name__}); "
                              "rebuild it with `qa index`") from e
            if dense.ntotal != len(passages) or vectors.shape[0] != len(passages):
                raise QAError(f"the index in {folder} is damaged (its parts disagree on the passage count); "
                              "rebuild it")
            return StoredIndex(folder, manifest, passages, vectors, dense, lexical, gen)
        except QAError:
            if attempt == 2 or gen is None or current_generation(folder) == gen:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
