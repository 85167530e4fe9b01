"""The reader on ONNX Runtime: the same encoder and span head, converted once into the model cache."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from qa.errors import QAError


class OnnxEngine:
    """Start and end logits of reader windows from the ONNX form of the reader (no torch in the process)."""

    name = "onnx"

    def __init__(self, base_dir: Path, load_state: Callable[[], dict[str, np.ndarray]], path: Path,
                 precision: str = "fp32", threads: int | None = None):
        from qa.encoder.export import ensure_onnx, is_valid, onnx_dir
        from qa.encoder.onnx_runtime import session, shared_tokens

        self.precision = precision
        key = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        # Unreadable weights are an error before any conversion starts (and says so).
        state = None if is_valid(onnx_dir(base_dir, "reader", precision, key)) else load_state()

        def adapt(base: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            trained = dict(state if state is not None else load_state())
            head = {"weight": trained.pop("head.weight"), "bias": trained.pop("head.bias")}
            for name, value in trained.items():
                own = name[len("encoder."):]
                if not name.startswith("encoder.") or own not in base or base[own].shape != value.shape:
                    raise QAError(f"reader weights do not fit the model: {path}; reinstall qa, or use --no-reader")
                base[own] = value
            return head

        tokens = shared_tokens(base_dir)
        self.tokenizer = tokens.tokenizer
        self.lock = tokens.lock
        self.pad_id = tokens.pad_id
        self.folder = ensure_onnx(base_dir, "reader", precision, key, adapt)  # the converted, checked files
        self.session = session(self.folder, threads)

    def logits(self, windows, batch_size: int = 16) -> list[tuple[np.ndarray, np.ndarray]]:
        from qa.encoder.onnx_runtime import batch_arrays

        out: list[tuple[np.ndarray, np.ndarray]] = [None] * len(windows)  # type: ignore[list-item]
        order = sorted(range(len(windows)), key=lambda i: len(windows[i].input_ids))
        for b in range(0, len(order), batch_size):
            idx = order[b: b + batch_size]
            ids, mask = batch_arrays([windows[i].input_ids for i in idx], self.pad_id)
            logits = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            for r, i in enumerate(idx):
                out[i] = (logits[r, :, 0], logits[r, :, 1])
        return out
