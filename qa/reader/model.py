"""The extractive reader: reads a question against a passage and returns the answer span, or no answer.

A span head (start and end logits over passage tokens) on the default multilingual encoder; the first
token's logits score "no answer" (SQuAD 2.0 style). The shipped weights replace the encoder's upper
layers and add the head; the rest of the encoder is the default model as rebuilt offline.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from qa.errors import QAError

MAX_LENGTH = 512
STRIDE = 128
MAX_QUESTION_TOKENS = 64
MAX_ANSWER_TOKENS = 48
TOP_TOKENS = 20
KEPT_SPANS = 10  # spans kept of each text read: the judgement looks this far down the reader's order
READ_MEMORY = 512  # texts whose spans a reader remembers
WEIGHTS_NAME = "reader.safetensors"


def shipped_weights() -> Path:
    """The weights shipped with qa, or the file named by QA_READER_WEIGHTS."""
    import os

    if env := os.environ.get("QA_READER_WEIGHTS"):
        return Path(env).expanduser()
    return Path(str(resources.files("qa.reader") / "weights" / WEIGHTS_NAME))


@dataclass
class Window:
    """One model input: a question and a piece of one context, with each context token's characters."""

    example: int
    input_ids: list[int]
    # Character span in the context's own text for tokens that may be part of an answer, else None.
    spans: list[tuple[int, int] | None]


@dataclass
class Span:
    """The reader's best answer in one context: characters [start, end) of its text, and the evidence."""

    start: int
    end: int
    score: float  # start + end logits of the span
    null: float  # start + end logits of "no answer"

    @property
    def margin(self) -> float:
        """How far the span beats "no answer"; negative when the reader thinks the text does not answer."""
        return self.score - self.null


def context_of(prefix: str, text: str) -> tuple[str, int]:
    """The string the reader reads (title and section, then the text) and where the text starts in it."""
    prefix = prefix.strip()
    if not prefix:
        return text, 0
    head = prefix + "\n"
    return head + text, len(head)


def make_windows(tokenizer, questions: list[str], contexts: list[str], text_starts: list[int],
                 max_length: int = MAX_LENGTH, stride: int = STRIDE, lock=None) -> list[Window]:
    """Tokenizes question/context pairs into overlapping windows, SQuAD style.

    ``tokenizer`` is a ``tokenizers.Tokenizer`` or a transformers fast tokenizer (its backend is used); its
    truncation is set here, under ``lock`` if given."""
    tok = getattr(tokenizer, "backend_tokenizer", tokenizer)
    with lock if lock is not None else contextlib.nullcontext():
        tok.no_truncation()
        tok.no_padding()
        short_q = []
        for q, e in zip(questions, tok.encode_batch(questions, add_special_tokens=False)):
            offs = e.offsets
            short_q.append(q[: offs[MAX_QUESTION_TOKENS - 1][1]] if len(offs) > MAX_QUESTION_TOKENS else q)
        tok.enable_truncation(max_length, stride=stride, strategy="only_second")
        try:
            encs = tok.encode_batch(list(zip(short_q, contexts)))
        finally:
            tok.no_truncation()
    windows = []
    blank = tok.token_to_id("▁")
    for ex, first in enumerate(encs):
        start = text_starts[ex]
        for enc in [first, *first.overflowing]:
            spans: list[tuple[int, int] | None] = []
            for tid, s_id, (a, b) in zip(enc.ids, enc.sequence_ids, enc.offsets):
                # A lone "▁" marks a space, never an answer's edge; title tokens are context, not answers.
                ok = s_id == 1 and tid != blank and b > a and a >= start
                spans.append((a - start, b - start) if ok else None)
            windows.append(Window(ex, list(enc.ids), spans))
    return windows


def answer_tokens(window: Window, start: int, end: int) -> tuple[int, int]:
    """Token positions (first, last) of the answer [start, end) in this window; (0, 0) when not inside."""
    idx = [i for i, sp in enumerate(window.spans) if sp is not None]
    if not idx or start < window.spans[idx[0]][0] or end > window.spans[idx[-1]][1]:
        return 0, 0
    first = next(i for i in idx if window.spans[i][1] > start)
    last = next(i for i in idx if window.spans[i][1] >= end)
    return (first, last) if last >= first else (0, 0)


def ranked_spans(window: Window, start_logits: np.ndarray, end_logits: np.ndarray, n: int = 1,
                 max_tokens: int = MAX_ANSWER_TOKENS) -> list[Span]:
    """The ``n`` highest-scoring valid spans of one window (end after start, at most max_tokens long), best
    first; the first is the window's answer, the others what the reader would say next. Of equal scores the
    span with the better start logit, then the earlier end, comes first."""
    ok = np.array([sp is not None for sp in window.spans])
    if not ok.any():
        return []
    s = np.where(ok, start_logits[: len(ok)], -np.inf)
    e = np.where(ok, end_logits[: len(ok)], -np.inf)
    null = float(start_logits[0] + end_logits[0])
    starts = np.array([i for i in np.argsort(-s, kind="stable")[:TOP_TOKENS] if np.isfinite(s[i])], dtype=np.int64)
    if not len(starts):
        return []
    ends = starts[:, None] + np.arange(max_tokens)[None, :]
    inside = ends < len(e)
    scores = s[starts][:, None] + np.where(inside, e[np.minimum(ends, len(e) - 1)], -np.inf)
    flat = scores.ravel()
    order = np.argsort(-flat, kind="stable")[:n]  # row by row: start order, then the earlier end
    out = []
    for k in order:
        if not np.isfinite(flat[k]):
            break
        i, j = int(starts[k // max_tokens]), int(ends.ravel()[k])
        out.append(Span(window.spans[i][0], window.spans[j][1], float(flat[k]), null))
    return out


def merge_ranked(per_window: list[list[Span]], n: int) -> list[Span]:
    """One context's ``n`` best distinct spans from its windows, each against the least confident "no answer"."""
    found = [s for spans in per_window for s in spans]
    if not found:
        return []
    null = min(s.null for s in found)
    out: dict[tuple[int, int], Span] = {}
    for sp in sorted(found, key=lambda s: -s.score):
        out.setdefault((sp.start, sp.end), Span(sp.start, sp.end, sp.score, null))
    return list(out.values())[:n]


def unpack_state(packed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The trained tensors of a shipped weights file (int8 rows times their scale), as float32 arrays."""
    out = {}
    for name, t in packed.items():
        if name.endswith(".q8"):
            base = name[: -len(".q8")]
            out[base] = t.astype(np.float32) * packed[base + ".scale"].astype(np.float32)
        elif not name.endswith(".scale"):
            out[name] = t.astype(np.float32)
    return out


def load_weights(path: Path) -> dict[str, np.ndarray]:
    """The trained tensors of a weights file, or a one-line QAError."""
    from safetensors.numpy import load_file

    try:
        state = unpack_state(load_file(str(path)))
    except Exception as e:  # safetensors raises its own error types, which vary by version
        raise QAError(f"reader weights unreadable: {path} ({type(e).__name__}); "
                      "reinstall qa, or use --no-reader") from None
    if "head.weight" not in state or "head.bias" not in state:
        raise QAError(f"reader weights do not fit the model: {path}; reinstall qa, or use --no-reader")
    return state


def reader_engine(engine: str = "auto") -> str:
    """torch or onnx: ``auto`` is onnx unless QA_ENGINE=torch."""
    import os

    engine = (engine or "auto").lower()
    if engine == "auto":
        engine = os.environ.get("QA_ENGINE", "").strip().lower() or "onnx"
        engine = "onnx" if engine == "auto" else engine
    if engine not in ("torch", "onnx"):
        raise QAError(f"unknown engine '{engine}': use auto, torch or onnx")
    return engine


def reader_precision(precision: str = "auto") -> str:
    """fp32 or int8 for the ONNX reader: ``auto`` is fp32 unless QA_READER_PRECISION=int8.

    int8 (dynamic, per channel; 8-bit weights on a CPU with VNNI, ``qa.encoder.export.weight_bits``) reads gold
    paragraphs as well as fp32 in half the time, and end to end within a point of F1 on cmrc2018-trial and
    squadshifts-wiki; but it costs 1.5 Chinese and 8.4 English F1 points on seeds-qa dev and flips the near
    tie of the README question to the former branch secretary (BENCHMARKS.md, "The reader in int8"), so it
    is offered, not chosen."""
    import os

    precision = (precision or "auto").lower()
    if precision == "auto":
        precision = os.environ.get("QA_READER_PRECISION", "").strip().lower() or "fp32"
    precision = {"float32": "fp32"}.get(precision, precision)
    if precision not in ("fp32", "int8"):
        raise QAError(f"unknown reader precision '{precision}': use fp32 or int8")
    return precision


class Reader:
    """Reads questions against contexts with the shipped (or a given) weights file.

    ``engine`` onnx (the default) runs on ONNX Runtime without torch; torch runs the torch module (QA_ENGINE=torch
    chooses it for ``auto``). ``precision`` fp32 or int8 (ONNX only; ``auto``: ``reader_precision``)."""

    def __init__(self, weights: Path | None = None, cache_dir: Path | None = None, threads: int | None = None,
                 engine: str = "auto", precision: str = "auto"):
        from qa.encoder.model import ensure_default_model

        path = Path(weights) if weights is not None else shipped_weights()
        if not path.is_file():
            raise QAError(f"reader weights missing: {path} (reinstall qa, or use --no-reader)")
        base_dir = ensure_default_model(cache_dir)
        self.path = path
        if reader_engine(engine) == "onnx":
            from qa.reader.onnx_engine import OnnxEngine

            # The weights are read only to convert them: a converted reader is found by their digest.
            self.engine = OnnxEngine(base_dir, lambda: load_weights(path), path, reader_precision(precision), threads)
        else:
            from qa.reader.torch_engine import TorchEngine

            self.engine = TorchEngine(base_dir, load_weights(path), path, threads)
        self.tokenizer = self.engine.tokenizer
        # The spans of the latest texts read, so that a text read again for the same question (the judgement's
        # second look at the top passages) is not run through the model twice.
        self._read: OrderedDict[tuple[str, str, str], list[Span]] = OrderedDict()
        self._read_lock = threading.Lock()

    def forget(self) -> None:
        """Drop the remembered spans: the next read of any text runs the model (benchmarks time this)."""
        with self._read_lock:
            self._read.clear()

    def logits(self, windows: list[Window], batch_size: int = 16) -> list[tuple[np.ndarray, np.ndarray]]:
        return self.engine.logits(windows, batch_size)

    def read(self, pairs: list[tuple[str, str, str]]) -> list[Span | None]:
        """(question, prefix, text) triples -> the best span of each text, offsets into that text."""
        return [spans[0] if spans else None for spans in self.read_ranked(pairs, 1)]

    def read_ranked(self, pairs: list[tuple[str, str, str]], n: int) -> list[list[Span]]:
        """(question, prefix, text) triples -> the ``n`` best spans of each text, best first (at most
        ``KEPT_SPANS`` are kept of each text read; a text read before for the same question is not read again)."""
        out: list[list[Span] | None] = [None] * len(pairs)
        with self._read_lock:
            for i, pair in enumerate(pairs):
                if (known := self._read.get(pair)) is not None:
                    self._read.move_to_end(pair)
                    out[i] = known
        todo = [i for i, spans in enumerate(out) if spans is None]
        if todo:
            keep = max(n, KEPT_SPANS)
            contexts, starts = zip(*(context_of(pairs[i][1], pairs[i][2]) for i in todo))
            windows = make_windows(self.tokenizer, [pairs[i][0] for i in todo], list(contexts), list(starts),
                                   lock=getattr(self.engine, "lock", None))
            per: list[list[list[Span]]] = [[] for _ in todo]
            for w, (s, e) in zip(windows, self.logits(windows)):
                per[w.example].append(ranked_spans(w, s, e, keep))
            with self._read_lock:
                for i, spans in zip(todo, per):
                    out[i] = merge_ranked(spans, keep)
                    self._read[pairs[i]] = out[i]
                while len(self._read) > READ_MEMORY:
                    self._read.popitem(last=False)
        return [spans[:n] for spans in out]  # type: ignore[index]


def card_path() -> Path:
    return Path(str(resources.files("qa.reader") / "weights" / "CARD.md"))


def weights_info(path: Path) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        meta = f.metadata() or {}
    return json.loads(meta.get("info", "{}"))
