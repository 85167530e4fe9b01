"""A training run's settings (``TrainConfig``) and what the run reads, step by step: each example's windows and answer labels, the items of an
epoch (positives and the negatives drawn for it), batches of like length, and each batch's windows
cropped and turned into tensors. Every draw is seeded, so a resumed run reads what it would have.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from qa.reader.examples import Example, crop
from qa.reader.model import Window, answer_tokens, context_of, make_windows


@dataclass
class TrainConfig:
    data: str  # folder with corpus.jsonl and questions.jsonl (cmrc2018-train layout)
    out: str  # where the final weights (float32, all trained tensors) are written
    checkpoints: str
    seed: int = 13
    epochs: float = 1.3
    batch_size: int = 16
    lr: float = 1.5e-4
    head_lr: float = 1e-3
    warmup: float = 0.08
    dropout: float = 0.0  # hidden dropout; under two epochs of data it only slows training
    weight_decay: float = 0.01
    frozen_layers: int = 2  # the embeddings and this many lower layers stay as the default model has them
    negatives: float = 0.2  # hard-negative windows per question, on average
    deletions: float = 0.2  # answer-cut gold paragraphs per question, on average
    # Questions with their subject swapped, against the gold paragraph, per question; and the context
    # tokens a training window is cut to around its answer (0: whole windows). Both are off: a run with
    # 0.2 and 192 (1.8 epochs in the same time) scored EM 27.3 / F1 61.0 on cmrc2018-trial, against 32.7 / 70.4
    # (qa/reader/weights/CARD.md).
    swaps: float = 0.0
    crop: int = 0
    extra_data: str = ""  # a second folder in the same layout; its even-numbered articles are trained on
    limit: int = 0  # use only the first N questions of each folder (0: all)
    max_length: int = 512
    checkpoint_every: int = 150
    log_every: int = 10
    max_steps: int = 0  # stop after this many steps (0: run the whole schedule)


def windows_for(tokenizer, examples: list[Example], max_length: int) -> tuple[list[Window], list[tuple[int, int]]]:
    contexts, starts = zip(*(context_of(e.prefix, e.text) for e in examples))
    windows = make_windows(tokenizer, [e.question for e in examples], list(contexts), list(starts), max_length)
    labels = []
    for w in windows:
        e = examples[w.example]
        labels.append(answer_tokens(w, e.start, e.end) if e.start >= 0 else (0, 0))
    return windows, labels


CUT = -2  # in an epoch plan: the question's answer-cut paragraph
SWAP = -3  # in an epoch plan: the question with its subject swapped, against its gold paragraph


def epoch_plan(cfg: TrainConfig, n_pos: int, pools: list[list[Example]], epoch: int,
               cuts: list[Example | None] | None = None, swaps: list[Example | None] | None = None
               ) -> list[tuple[int, int]]:
    """(question, negative index, -1 for its gold paragraph, CUT or SWAP) items of one epoch; the same for
    the same seed and epoch."""
    rng = random.Random(cfg.seed * 1000 + epoch)
    items = [(i, -1) for i in range(n_pos)]
    for i, pool in enumerate(pools):
        if pool and rng.random() < cfg.negatives:
            items.append((i, rng.randrange(len(pool))))
    if cfg.deletions and cuts:
        cut_rng = random.Random(cfg.seed * 3000 + epoch)
        items += [(i, CUT) for i, c in enumerate(cuts) if c is not None and cut_rng.random() < cfg.deletions]
    if cfg.swaps and swaps:
        swap_rng = random.Random(cfg.seed * 5000 + epoch)
        items += [(i, SWAP) for i, c in enumerate(swaps) if c is not None and swap_rng.random() < cfg.swaps]
    return items


def batches_of(cfg: TrainConfig, lengths: list[int], epoch: int) -> list[list[int]]:
    """Windows grouped by similar length (less padding), batches in a seeded random order."""
    rng = random.Random(cfg.seed * 7919 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    chunk = cfg.batch_size * 50
    batches = []
    for c in range(0, len(order), chunk):
        part = sorted(order[c: c + chunk], key=lambda i: lengths[i])
        batches += [part[b: b + cfg.batch_size] for b in range(0, len(part), cfg.batch_size)]
    rng.shuffle(batches)
    return batches


def context_length(window: Window) -> int:
    idx = [i for i, sp in enumerate(window.spans) if sp is not None]
    return idx[-1] + 1 - idx[0] if idx else 0


def batch_items(cfg: TrainConfig, windows: list[Window], labels: list[tuple[int, int]], idx: list[int],
                step: int, no_answer: set[int]) -> list[tuple[list[int], list, tuple[int, int]]]:
    """The batch's windows, cropped (seeded by the step, so a resumed run crops alike), with their labels;
    windows in `no_answer` are cropped around the answer they hold and then labelled "no answer"."""
    rng = random.Random(cfg.seed * 100_003 + step)
    items = []
    for i in idx:
        w = windows[i]
        ids, spans, label = crop(w.input_ids, w.spans, labels[i], cfg.crop, rng) if cfg.crop else (
            w.input_ids, w.spans, labels[i])
        items.append((ids, spans, (0, 0) if i in no_answer else label))
    return items


def tensors(items: list[tuple[list[int], list, tuple[int, int]]], pad: int):
    import torch

    width = max(len(ids) for ids, _, _ in items)
    width = (width + 7) // 8 * 8
    ids = torch.full((len(items), width), pad, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    allowed = torch.zeros((len(items), width), dtype=torch.bool)
    for r, (row, spans, _) in enumerate(items):
        n = len(row)
        ids[r, :n] = torch.tensor(row)
        mask[r, :n] = 1
        allowed[r, 0] = True
        allowed[r, :n] |= torch.tensor([sp is not None for sp in spans])
    starts = torch.tensor([label[0] for _, _, label in items])
    ends = torch.tensor([label[1] for _, _, label in items])
    return ids, mask, allowed, starts, ends
