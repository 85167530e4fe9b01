"""The precision part of bench/speed.py: the model at float32 against bfloat16, in speed, vectors and scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from speedlib.common import ROOT, now


def bench_precision(texts: list[str], work: Path, cache_dir: Path | None) -> dict[str, Any]:
    from qa.encoder.embedder import BATCH_SIZE
    from qa.encoder.model import load_model, model_prefixes

    prefix = model_prefixes(None)[1]
    batch = [prefix + t for t in texts]
    out: dict[str, Any] = {"passages": len(texts)}
    vecs: dict[str, np.ndarray] = {}
    models = {p: load_model(None, cache_dir=cache_dir, precision=p) for p in ("float32", "bfloat16")}
    for rep in range(2):  # alternate, so load on the machine hits both alike
        for p, m in models.items():
            t0 = now()
            v = m.encode(batch, batch_size=BATCH_SIZE, normalize_embeddings=True, convert_to_numpy=True)
            out.setdefault(f"{p}_s", []).append(now() - t0)
            vecs[p] = np.asarray(v, dtype=np.float32)
    for p in models:
        out[f"{p}_passages_per_s"] = len(texts) / min(out[f"{p}_s"])
    cos = np.sum(vecs["float32"] * vecs["bfloat16"], axis=1)
    out["cosine_f32_bf16_min"] = float(cos.min())
    out["cosine_f32_bf16_mean"] = float(cos.mean())
    del models
    for p in ("float32", "bfloat16"):
        out[f"{p}_eval"] = eval_with_precision(p, work, cache_dir)
    return out


def eval_with_precision(precision: str, work: Path, cache_dir: Path | None) -> dict[str, Any]:
    """Build the seeds index with the model at ``precision`` and score the seeds dev set on it
    (what `qa eval tests/data/seeds-dev.jsonl --index DIR` prints, for the dense and hybrid modes)."""
    from qa import api
    from qa.evaluation.evaluate import evaluate

    idx = api.Index.build([ROOT / "seeds"], work / f"index-seeds-{precision}", cache_dir=cache_dir,
                          precision=precision)
    rep = evaluate(idx, ROOT / "tests" / "data" / "seeds-dev.jsonl", modes=["dense", "hybrid"])
    return {mode: rep["modes"][mode]["all"] for mode in ("dense", "hybrid")}

