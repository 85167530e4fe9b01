"""Runs the default model on ONNX Runtime with the `tokenizers` library: no torch, transformers or
sentence-transformers in the process."""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa.errors import QAError

MAX_TOKENS = 512
_FIX = "pip install onnxruntime, or set QA_ENGINE=torch to answer with torch"


def onnxruntime():
    """The onnxruntime module, or a one-line QAError that names the fix."""
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise QAError(f"the ONNX engine needs onnxruntime, which does not load ({e.name or e}): {_FIX}") from None
    return ort


def session(folder: Path, threads: int | None = None):
    """An inference session of the checked ONNX model in ``folder``."""
    from qa.encoder.export import GRAPH

    ort = onnxruntime()
    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # ONNX Runtime's shape-merge notes are not the user's business
    if threads:
        opts.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(str(folder / GRAPH), opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # ONNX Runtime raises its own types, which vary by version
        text = " ".join(str(e).split())[:200]
        raise QAError(f"ONNX Runtime could not load {folder}: {text}; delete that folder to convert the "
                      f"model again, or set QA_ENGINE=torch") from None


class Tokens:
    """The default model's tokenizer (``tokenizers``), shared by the encoder and the reader of a process.

    Its truncation settings are state: ``lock`` keeps one caller's settings from meeting another's call."""

    def __init__(self, path: Path):
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise QAError("the ONNX engine needs the tokenizers package: pip install tokenizers") from None
        compact = compact_path(path)
        try:
            self.tokenizer = Tokenizer.from_file(str(compact))
        except Exception:  # not written yet (or unreadable): the original, then the copy for the next process
            self.tokenizer = Tokenizer.from_file(str(path))
            _write_compact(self.tokenizer, compact)
        self.lock = threading.Lock()
        self.pad_id = self.tokenizer.token_to_id("<pad>")


def compact_path(path: Path) -> Path:
    """Where the compact copy of ``tokenizer.json`` goes; named by the original's size and time, so a
    changed original is never read through an old copy."""
    st = path.stat()
    return path.with_name(f".{path.stem}-{st.st_size}-{st.st_mtime_ns}.compact.json")


def _write_compact(tokenizer, target: Path) -> None:
    """The tokenizer as `tokenizers` serialises it without indentation: the same tokenizer (the same ids and
    offsets for any text) in half the bytes, parsed in 0.2 s less of a cold start (17 MB: 0.75 s, 8 MB: 0.53 s)."""
    import os
    import secrets

    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        tmp.write_text(tokenizer.to_str(), encoding="utf-8")
        os.replace(tmp, target)
    except OSError:  # a read-only cache: every start parses the original, as before
        tmp.unlink(missing_ok=True)


@lru_cache(maxsize=2)
def shared_tokens(base_dir: Path) -> Tokens:
    return Tokens(base_dir / "tokenizer.json")


def batch_arrays(ids: list[list[int]], pad: int, width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Padded ``input_ids`` and ``attention_mask`` (int64) of token-id rows."""
    width = width or max(len(r) for r in ids)
    arr = np.full((len(ids), width), pad, dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for r, row in enumerate(ids):
        arr[r, :len(row)] = row
        mask[r, :len(row)] = 1
    return arr, mask


class OnnxEncoder:
    """The default model's sentence embeddings (mean of the last layer over real tokens, unit length)."""

    max_seq_length = MAX_TOKENS

    def __init__(self, base_dir: Path, precision: str = "fp32"):
        from qa.encoder.export import ensure_onnx

        self.tokens = shared_tokens(base_dir)
        self.session = session(ensure_onnx(base_dir, "encoder", precision))
        self.dim = int(self.session.get_outputs()[0].shape[-1])

    def token_ids(self, texts: list[str], special: bool = True, truncate: bool = False) -> list[list[int]]:
        """Each text's token ids, all of them, or (``truncate``) the first 512 as the model reads them."""
        tok = self.tokens
        with tok.lock:
            if truncate:
                tok.tokenizer.enable_truncation(MAX_TOKENS)
            else:
                tok.tokenizer.no_truncation()
            tok.tokenizer.no_padding()
            return [e.ids for e in tok.tokenizer.encode_batch(texts, add_special_tokens=special)]

    def decode(self, ids: list[int]) -> str:
        return self.tokens.tokenizer.decode(ids, skip_special_tokens=True)

    def encode(self, texts: list[str], batch_size: int = 16) -> np.ndarray:
        ids = self.token_ids(texts, truncate=True)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # batches of like length pad little
        for b in range(0, len(order), batch_size):
            rows = order[b:b + batch_size]
            arr, mask = batch_arrays([ids[i] for i in rows], self.tokens.pad_id)
            hidden = self.session.run(None, {"input_ids": arr, "attention_mask": mask})[0]
            m = mask[..., None].astype(np.float32)
            vec = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
            out[rows] = vec / np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12)
        return out
