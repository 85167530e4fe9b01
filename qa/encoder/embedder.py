"""Turns questions and passages into unit vectors: the default model on ONNX Runtime, or any
sentence-transformers model on torch."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa.encoder.cpu import bf16_is_native
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


@lru_cache(maxsize=2)
def _loaded_onnx(cache_dir: Path | None, precision: str):
    """One ONNX Runtime copy of the default model per process."""
    from qa.encoder.model import ensure_default_model
    from qa.encoder.onnx_runtime import OnnxEncoder

    return OnnxEncoder(ensure_default_model(cache_dir), precision)


PRECISIONS = {"float32": "float32", "fp32": "float32", "bf16": "bfloat16", "bfloat16": "bfloat16", "int8": "int8"}
ENGINES = ("auto", "torch", "onnx")
# What each engine computes in; torch float32 keeps the plain model name in embedding-cache keys, as before.
ENGINE_PRECISIONS = {"torch": ("float32", "bfloat16"), "onnx": ("float32", "int8")}
_ONNX_PRECISION = {"float32": "fp32", "int8": "int8"}


def precision_name(precision: str) -> str:
    """The canonical name (float32, bfloat16 or int8) of a precision a user typed."""
    from qa.errors import QAError

    try:
        return PRECISIONS[precision.lower()]
    except KeyError:
        raise QAError(f"unknown precision '{precision}': use float32, bf16 or int8") from None


def choose_engine(model: str | None, engine: str = "auto", precision: str | None = None,
                  indexing: bool = False) -> tuple[str, str]:
    """(engine, precision) for a model: ONNX Runtime for the default model, torch for any other.

    ``auto`` takes QA_ENGINE (torch or onnx) if set. When indexing with the default model and no precision,
    a CPU with native bfloat16 embeds fastest with torch in bf16, any other with ONNX Runtime in float32
    (BENCHMARKS.md, "Engines"). Questions are embedded in float32 whatever embedded the passages."""
    import os

    from qa.encoder.model import DEFAULT_MODEL
    from qa.errors import QAError

    engine = (engine or "auto").lower()
    if engine not in ENGINES:
        raise QAError(f"unknown engine '{engine}': use auto, torch or onnx")
    prec = precision_name(precision) if precision else None
    default = model is None or model == DEFAULT_MODEL
    if engine == "auto":
        env = os.environ.get("QA_ENGINE", "").strip().lower()
        if env and env not in ("torch", "onnx", "auto"):
            raise QAError(f"QA_ENGINE={env} is not an engine: use torch or onnx")
        if not default or env == "torch" or prec == "bfloat16":
            engine = "torch"
        elif prec is None and indexing and bf16_is_native() and env != "onnx":
            engine, prec = "torch", "bfloat16"
        else:
            engine = "onnx"
    if engine == "onnx" and not default:
        raise QAError(f"the ONNX engine runs the default model only; model '{model}' needs --engine torch")
    prec = prec or "float32"
    if prec not in ENGINE_PRECISIONS[engine]:
        raise QAError(f"the {engine} engine does not embed in {prec}: use "
                      f"{' or '.join(ENGINE_PRECISIONS[engine])}")
    return engine, prec


class Embedder:
    """A loaded model with its query/passage prefixes; loads lazily so opening an index is cheap.

    ``engine`` torch runs the model with sentence-transformers; onnx (the default model only) with ONNX Runtime
    and the `tokenizers` library, without importing torch."""

    def __init__(self, model: str | None = None, cache_dir: Path | None = None, precision: str | None = "float32",
                 engine: str = "auto", indexing: bool = False):
        from qa.encoder.model import DEFAULT_MODEL

        self.name = model or DEFAULT_MODEL
        self.cache_dir = cache_dir
        self.engine, self.precision = choose_engine(self.name, engine, precision, indexing)
        self._model = None
        self._onnx = None

    @property
    def key_name(self) -> str:
        """The model as embedding-cache keys name it: vectors of another engine or precision are not reused."""
        if self.engine == "torch":
            # "-unit": bf16 vectors are normalized again in float32; those stored before that are not reused
            return self.name if self.precision == "float32" else f"{self.name}@{self.precision}-unit"
        if self.precision == "int8":
            from qa.encoder.export import weight_bits

            # 8-bit and 7-bit weights (a CPU with VNNI or without) embed a little differently
            return f"{self.name}@onnx-int8-w{weight_bits()}"
        return f"{self.name}@onnx-{self.precision}"

    @property
    def model(self):
        """The sentence-transformers model (torch engine only)."""
        if self._model is None:
            self._model = _loaded(self.name, self.cache_dir, self.precision)
        return self._model

    @property
    def onnx(self):
        """The ONNX Runtime encoder (onnx engine only)."""
        if self._onnx is None:
            self._onnx = _loaded_onnx(self.cache_dir, _ONNX_PRECISION[self.precision])
        return self._onnx

    def load(self) -> None:
        """Load the model now rather than at the first text."""
        _ = self.onnx if self.engine == "onnx" else self.model

    @property
    def dim(self) -> int:
        if self.engine == "onnx":
            return self.onnx.dim
        m = self.model
        get = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        return int(get())

    @property
    def max_tokens(self) -> int:
        return self.onnx.max_seq_length if self.engine == "onnx" else int(self.model.max_seq_length)

    def token_ids(self, text: str, special: bool = True) -> list[int]:
        if self.engine == "onnx":
            return self.onnx.token_ids([text], special)[0]
        return self.model.tokenizer(text, add_special_tokens=special)["input_ids"]

    def decode(self, ids: list[int]) -> str:
        if self.engine == "onnx":
            return self.onnx.decode(ids)
        return self.model.tokenizer.decode(ids, skip_special_tokens=True)

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
        return len(self.token_ids(text))

    def _encode(self, texts: list[str], progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.engine == "onnx":
            return self.onnx.encode(texts, BATCH_SIZE)
        vecs = self.model.encode(
            texts,
            batch_size=BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        vecs = np.asarray(vecs, dtype=np.float32)
        # In bfloat16 the model's own normalization leaves norms 0.1-0.3% off one, enough to reorder
        # passages whose float32 cosines differ by less than that; normalizing again in float32 brings the
        # vectors within cosine 0.99998 of float32's.
        vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        return np.ascontiguousarray(vecs)
