"""The reader on torch: the encoder and span head as a torch module, for training and for the torch engine."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.errors import QAError

if TYPE_CHECKING:
    import torch

MAX_LENGTH = 512
# Batches are padded to a multiple of this many tokens: oneDNN keeps kernels (and their buffers) for every
# input shape it meets, so reading windows of every length grew a process by ~1 MB a question (390 MB over
# 400 cmrc2018 questions); with eight widths it levels off after the first few dozen.
WIDTH_STEP = 64


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


def _bf16_ok() -> bool:
    from qa.encoder.cpu import bf16_is_native

    return bf16_is_native()


class TorchEngine:
    """Start and end logits of reader windows from the torch module (bf16 where the CPU has it)."""

    name = "torch"

    def __init__(self, base_dir: Path, state: dict[str, np.ndarray], path: Path, threads: int | None = None):
        import torch
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
        self.pad_id = self.tokenizer.pad_token_id
        module = ReaderModel.build(base_dir)
        own = module.state_dict()
        for k, v in state.items():
            if k not in own or tuple(own[k].shape) != v.shape:
                raise QAError(f"reader weights do not fit the model: {path}; reinstall qa, or use --no-reader")
        module.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=False)
        module.eval()
        self.module = module
        self.bf16 = _bf16_ok()
        if threads:
            torch.set_num_threads(threads)

    def logits(self, windows, batch_size: int = 16) -> list[tuple[np.ndarray, np.ndarray]]:
        import torch

        out: list[tuple[np.ndarray, np.ndarray]] = [None] * len(windows)  # type: ignore[list-item]
        order = sorted(range(len(windows)), key=lambda i: len(windows[i].input_ids))
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            for b in range(0, len(order), batch_size):
                idx = order[b: b + batch_size]
                width = max(len(windows[i].input_ids) for i in idx)
                width = max(width, min(-(-width // WIDTH_STEP) * WIDTH_STEP, MAX_LENGTH))
                ids = torch.full((len(idx), width), self.pad_id, dtype=torch.long)
                mask = torch.zeros((len(idx), width), dtype=torch.long)
                for r, i in enumerate(idx):
                    n = len(windows[i].input_ids)
                    ids[r, :n] = torch.tensor(windows[i].input_ids)
                    mask[r, :n] = 1
                s, e = self.module(ids, mask)
                for r, i in enumerate(idx):
                    out[i] = (s[r].float().numpy(), e[r].float().numpy())
        return out
