"""Turns questions and passages into unit vectors with a sentence-transformers model."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa.types import Passage

BATCH_SIZE = 16


def passage_text(p: Passage) -> str:
    """What the model sees of a passage: its document title and section heading give it context."""
    return "\n".join(s for s in (p.title, p.section, p.text) if s)


def text_key(model_name: str, text: str) -> str:
    return hashlib.sha1(f"{model_name}\x00{text}".encode("utf-8")).hexdigest()


@lru_cache(maxsize=4)
def _loaded(name: str, cache_dir: Path | None, precision: str):
    """One loaded copy of a model per process, however many indexes use it."""
    import os

    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # no weight-loading bars on stderr
    from qa.encoder.model import load_model

    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover
        pass
    return load_model(name, cache_dir=cache_dir, precision=precision)


PRECISIONS = {"float32": "float32", "fp32": "float32", "bf16": "bfloat16", "bfloat16": "bfloat16"}


def precision_name(precision: str) -> str:
    """The canonical name (float32 or bfloat16) of a precision a user typed."""
    from qa.errors import QAError

    try:
        return PRECISIONS[precision.lower()]
    except KeyError:
        raise QAError(f"unknown precision '{precision}': use float32 or bf16") from None


def bf16_is_native() -> bool:
    """Whether this CPU computes in bfloat16 (AMX or AVX512-BF16); elsewhere bf16 is emulated and slow."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return any(f in flags.split() for f in ("avx512_bf16", "amx_bf16"))


class Embedder:
    """A loaded model with its query/passage prefixes; loads lazily so opening an index is cheap."""

    def __init__(self, model: str | None = None, cache_dir: Path | None = None, precision: str = "float32"):
        from qa.encoder.model import DEFAULT_MODEL

        self.name = model or DEFAULT_MODEL
        self.cache_dir = cache_dir
        self.precision = precision_name(precision)
        self._model = None

    @property
    def key_name(self) -> str:
        """The model as embedding-cache keys name it: vectors of another precision are not reused."""
        return self.name if self.precision == "float32" else f"{self.name}@{self.precision}"

    @property
    def model(self):
        if self._model is None:
            self._model = _loaded(self.name, self.cache_dir, self.precision)
        return self._model

    @property
    def dim(self) -> int:
        m = self.model
        get = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        return int(get())

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length)

    def _prefixes(self) -> tuple[str, str]:
        from qa.encoder.model import model_prefixes

        return model_prefixes(self.name)

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        prefix = self._prefixes()[1]
        return self._encode([prefix + t for t in texts], progress)

    def encode_queries(self, questions: list[str], progress: bool = False) -> np.ndarray:
        prefix = self._prefixes()[0]
        return self._encode([prefix + q for q in questions], progress)

    def count_tokens(self, text: str) -> int:
        return len(self.model.tokenizer(text, add_special_tokens=True)["input_ids"])

    def _encode(self, texts: list[str], progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self.model.encode(
            texts,
            batch_size=BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)
