"""The extractive reader: reads a question against a passage and returns the answer span, or no answer.

A span head (start and end logits over passage tokens) on the default multilingual encoder; the first
token's logits score "no answer" (SQuAD 2.0 style). The shipped weights replace the encoder's upper
layers and add the head; the rest of the encoder is the default model as rebuilt offline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.errors import QAError

if TYPE_CHECKING:
    import torch

MAX_LENGTH = 512
STRIDE = 128
# Batches are padded to a multiple of this many tokens: oneDNN keeps kernels (and their buffers) for every
# input shape it meets, so reading windows of every length grew a process by ~1 MB a question (390 MB over
# 400 cmrc2018 questions); with eight widths it levels off after the first few dozen.
WIDTH_STEP = 64
MAX_QUESTION_TOKENS = 64
MAX_ANSWER_TOKENS = 48
TOP_TOKENS = 20
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
                 max_length: int = MAX_LENGTH, stride: int = STRIDE) -> list[Window]:
    """Tokenizes question/context pairs into overlapping windows, SQuAD style."""
    short_q = []
    for q in questions:
        enc = tokenizer(q, add_special_tokens=False, return_offsets_mapping=True)
        offs = enc["offset_mapping"]
        short_q.append(q[: offs[MAX_QUESTION_TOKENS - 1][1]] if len(offs) > MAX_QUESTION_TOKENS else q)
    enc = tokenizer(short_q, contexts, truncation="only_second", max_length=max_length, stride=stride,
                    return_overflowing_tokens=True, return_offsets_mapping=True)
    windows = []
    blank = tokenizer.convert_tokens_to_ids("▁")
    for w, ids in enumerate(enc["input_ids"]):
        ex = enc["overflow_to_sample_mapping"][w]
        seq = enc.sequence_ids(w)
        start = text_starts[ex]
        spans: list[tuple[int, int] | None] = []
        for tid, s_id, (a, b) in zip(ids, seq, enc["offset_mapping"][w]):
            # A lone "▁" marks a space, never an answer's edge; title tokens are context, not answers.
            ok = s_id == 1 and tid != blank and b > a and a >= start
            spans.append((a - start, b - start) if ok else None)
        windows.append(Window(ex, ids, spans))
    return windows


def answer_tokens(window: Window, start: int, end: int) -> tuple[int, int]:
    """Token positions (first, last) of the answer [start, end) in this window; (0, 0) when not inside."""
    idx = [i for i, sp in enumerate(window.spans) if sp is not None]
    if not idx or start < window.spans[idx[0]][0] or end > window.spans[idx[-1]][1]:
        return 0, 0
    first = next(i for i in idx if window.spans[i][1] > start)
    last = next(i for i in idx if window.spans[i][1] >= end)
    return (first, last) if last >= first else (0, 0)


def best_span(window: Window, start_logits: np.ndarray, end_logits: np.ndarray,
              max_tokens: int = MAX_ANSWER_TOKENS) -> Span | None:
    """The highest-scoring valid span of one window (end after start, at most max_tokens long)."""
    ok = np.array([sp is not None for sp in window.spans])
    if not ok.any():
        return None
    s = np.where(ok, start_logits[: len(ok)], -np.inf)
    e = np.where(ok, end_logits[: len(ok)], -np.inf)
    null = float(start_logits[0] + end_logits[0])
    best = None
    for i in np.argsort(-s)[:TOP_TOKENS]:
        if not np.isfinite(s[i]):
            break
        stop = min(len(e), i + max_tokens)
        j = i + int(np.argmax(e[i:stop]))
        if not np.isfinite(e[j]):
            continue
        score = float(s[i] + e[j])
        if best is None or score > best[0]:
            best = (score, i, j)
    if best is None:
        return None
    score, i, j = best
    return Span(window.spans[i][0], window.spans[j][1], score, null)


def merge_windows(spans: list[Span | None]) -> Span | None:
    """One context's answer from its windows: the best span, against the least confident "no answer"."""
    found = [s for s in spans if s is not None]
    if not found:
        return None
    best = max(found, key=lambda s: s.score)
    return Span(best.start, best.end, best.score, min(s.null for s in found))


def _bf16_ok() -> bool:
    from qa.encoder.embedder import bf16_is_native

    return bf16_is_native()


class ReaderModel:
    """Encoder + span head as a torch module; built from the default model's folder and a weights file."""

    @staticmethod
    def build(base_dir: Path, dropout: float = 0.0):
        import torch
        from transformers import AutoModel

        class _Module(torch.nn.Module):
            def __init__(self, encoder):
                super().__init__()
                self.encoder = encoder
                self.head = torch.nn.Linear(encoder.config.hidden_size, 2)

            def forward(self, input_ids, attention_mask):
                hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
                logits = self.head(hidden).float()
                return logits[..., 0], logits[..., 1]

        # Attention dropout makes CPU training about 3x slower and is not needed for this task.
        encoder = AutoModel.from_pretrained(
            str(base_dir), attn_implementation="sdpa", attention_probs_dropout_prob=0.0,
            hidden_dropout_prob=dropout, add_pooling_layer=False,
        )
        return _Module(encoder)


def pack_state(state: dict[str, "torch.Tensor"], base: dict[str, "torch.Tensor"]) -> dict[str, "torch.Tensor"]:
    """Weights to ship: each trained matrix as int8 rows with a float16 scale, the rest as float16.

    Only tensors that training changed are kept; the others come from the default model at load time.
    """
    import torch

    out = {}
    for name, t in state.items():
        t = t.detach().float()
        if name in base and torch.equal(base[name].float(), t):
            continue
        if t.dim() == 2:
            scale = t.abs().amax(dim=1, keepdim=True).clamp(min=1e-8) / 127.0
            out[name + ".q8"] = torch.round(t / scale).clamp(-127, 127).to(torch.int8)
            out[name + ".scale"] = scale.to(torch.float16)
        else:
            out[name] = t.to(torch.float16)
    return out


def unpack_state(packed: dict[str, "torch.Tensor"]) -> dict[str, "torch.Tensor"]:
    import torch

    out = {}
    for name, t in packed.items():
        if name.endswith(".q8"):
            base = name[: -len(".q8")]
            out[base] = t.float() * packed[base + ".scale"].float()
        elif not name.endswith(".scale"):
            out[name] = t.float()
    return out


class Reader:
    """Reads questions against contexts with the shipped (or a given) weights file."""

    def __init__(self, weights: Path | None = None, cache_dir: Path | None = None, threads: int | None = None):
        import torch
        from safetensors.torch import load_file
        from transformers import AutoTokenizer

        from qa.encoder.model import ensure_default_model

        path = Path(weights) if weights is not None else shipped_weights()
        if not path.is_file():
            raise QAError(f"reader weights missing: {path} (reinstall qa, or use --no-reader)")
        try:
            packed = load_file(str(path))
            state = unpack_state(packed)
        except Exception as e:  # safetensors raises its own error types, which vary by version
            raise QAError(f"reader weights unreadable: {path} ({type(e).__name__}); "
                          "reinstall qa, or use --no-reader") from None
        base_dir = ensure_default_model(cache_dir)
        self.tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
        module = ReaderModel.build(base_dir)
        own = module.state_dict()
        unknown = [k for k in state if k not in own]
        if unknown or "head.weight" not in state:
            raise QAError(f"reader weights do not fit the model: {path}; reinstall qa, or use --no-reader")
        for k, v in state.items():
            if own[k].shape != v.shape:
                raise QAError(f"reader weights do not fit the model: {path}; reinstall qa, or use --no-reader")
        module.load_state_dict(state, strict=False)
        module.eval()
        self.module = module
        self.bf16 = _bf16_ok()
        self.path = path
        if threads:
            torch.set_num_threads(threads)

    def logits(self, windows: list[Window], batch_size: int = 16) -> list[tuple[np.ndarray, np.ndarray]]:
        import torch

        out: list[tuple[np.ndarray, np.ndarray]] = [None] * len(windows)  # type: ignore[list-item]
        order = sorted(range(len(windows)), key=lambda i: len(windows[i].input_ids))
        pad = self.tokenizer.pad_token_id
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            for b in range(0, len(order), batch_size):
                idx = order[b: b + batch_size]
                width = max(len(windows[i].input_ids) for i in idx)
                width = max(width, min(-(-width // WIDTH_STEP) * WIDTH_STEP, MAX_LENGTH))
                ids = torch.full((len(idx), width), pad, dtype=torch.long)
                mask = torch.zeros((len(idx), width), dtype=torch.long)
                for r, i in enumerate(idx):
                    n = len(windows[i].input_ids)
                    ids[r, :n] = torch.tensor(windows[i].input_ids)
                    mask[r, :n] = 1
                s, e = self.module(ids, mask)
                for r, i in enumerate(idx):
                    out[i] = (s[r].float().numpy(), e[r].float().numpy())
        return out

    def read(self, pairs: list[tuple[str, str, str]]) -> list[Span | None]:
        """(question, prefix, text) triples -> the best span of each text, offsets into that text."""
        if not pairs:
            return []
        contexts, starts = zip(*(context_of(p, t) for _, p, t in pairs))
        windows = make_windows(self.tokenizer, [q for q, _, _ in pairs], list(contexts), list(starts))
        per: list[list[Span | None]] = [[] for _ in pairs]
        for w, (s, e) in zip(windows, self.logits(windows)):
            per[w.example].append(best_span(w, s, e))
        return [merge_windows(spans) for spans in per]


def card_path() -> Path:
    return Path(str(resources.files("qa.reader") / "weights" / "CARD.md"))


def weights_info(path: Path) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    return json.loads(meta.get("info", "{}"))
