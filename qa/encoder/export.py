"""Converts the default model and the reader to ONNX once, next to the rebuilt model in the cache, and checks
each converted folder before it is used.

A converted folder holds ``model.onnx`` (the graph), ``model.onnx.data`` (its weights, which ONNX Runtime maps
from disk) and ``check.json`` (the layout version, each file's size and sha256). The folder is written under a
temporary name and renamed into place, so a half-written one is never seen; one that fails its check
(truncated, altered, or from an older qa) is converted again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path

import numpy as np

from qa.encoder.atomic import build_folder
from qa.errors import QAError

log = logging.getLogger("qa")

LAYOUT = 1  # bump when the graph or the files change: folders of another layout are converted again
PRECISIONS = ("fp32", "int8")
GRAPH = "model.onnx"
DATA = "model.onnx.data"
CHECK = "check.json"
STAMP = "verified.json"


def file_digest(path: Path) -> str:
    """The sha256 of a whole file."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def _stat_key(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def is_valid(folder: Path) -> bool:
    """True when ``folder`` is a complete conversion of this layout whose files are as they were written.

    Each file's sha256 is checked whenever its size, modification time or inode differ from those recorded
    at the last full check (``verified.json``), so an unchanged folder costs a few stat calls per start."""
    try:
        check = json.loads((folder / CHECK).read_text(encoding="utf-8"))
        if check.get("layout") != LAYOUT or not set(check["files"]) >= {GRAPH, DATA}:
            return False
        try:
            stamp = json.loads((folder / STAMP).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stamp = {}
        fresh = {}
        for name, info in check["files"].items():
            path = folder / name
            fresh[name] = _stat_key(path)
            if stamp.get(name) == fresh[name]:
                continue
            if fresh[name][0] != info["size"] or file_digest(path) != info["sha256"]:
                return False
        if fresh != stamp:
            _write_stamp(folder, fresh)
        return True
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _write_stamp(folder: Path, fresh: dict) -> None:
    tmp = folder / f".{STAMP}.{os.getpid()}-{secrets.token_hex(4)}"
    try:
        tmp.write_text(json.dumps(fresh) + "\n", encoding="utf-8")
        os.replace(tmp, folder / STAMP)
    except OSError:  # a read-only cache is checked in full each time, but still works
        tmp.unlink(missing_ok=True)


def onnx_dir(base_dir: Path, kind: str, precision: str, key: str = "") -> Path:
    """Where the ONNX form of ``kind`` (encoder or reader) lives: a folder beside the rebuilt model's.

    ``key`` names whatever else the weights come from (the reader's weights file, by its digest). int8 weights
    have 8 bits on a CPU with VNNI and 7 elsewhere (``weight_bits``), and the two are different folders."""
    if precision not in PRECISIONS:
        raise QAError(f"unknown ONNX precision {precision!r}: use {' or '.join(PRECISIONS)}")
    bits = f":w{weight_bits()}" if precision == "int8" else ""
    short = hashlib.sha256(f"{LAYOUT}:{base_dir.name}:{kind}:{precision}{bits}:{key}".encode()).hexdigest()[:10]
    return base_dir.parent / f"{base_dir.name}.onnx" / f"{kind}-{precision}-{short}"


StateFn = Callable[[dict[str, np.ndarray]], "dict[str, np.ndarray] | None"]


def ensure_onnx(base_dir: Path, kind: str = "encoder", precision: str = "fp32", key: str = "",
                adapt: StateFn | None = None) -> Path:
    """The checked ONNX folder of ``kind`` for the model in ``base_dir``, converted first if missing or bad.

    ``adapt`` changes the base model's weights in place (the reader's trained layers) and returns a span head
    (``weight`` [2, dim], ``bias`` [2]), or None for the plain encoder."""
    target = onnx_dir(base_dir, kind, precision, key)

    def write(tmp: Path) -> None:
        log.info("converting the %s to ONNX (%s) in %s: once", kind, precision, target)
        _convert(tmp, base_dir, kind, precision, adapt)

    def redo(old: Path) -> None:
        log.warning("converting the %s to ONNX again: %s is incomplete, altered or from another qa", kind, old)

    try:
        build_folder(target, is_valid, write, on_invalid=redo)
    except ImportError as e:
        raise QAError(f"converting to ONNX needs the onnx package: pip install onnx ({e.name} missing)") from None
    if not is_valid(target):
        raise QAError(f"the ONNX conversion in {target} does not check out: delete it and try again")
    return target


def _convert(folder: Path, base_dir: Path, kind: str, precision: str, adapt: StateFn | None) -> None:
    import onnx
    from safetensors.numpy import load_file

    from qa.encoder.onnx_graph import bert_graph

    config = json.loads((base_dir / "config.json").read_text(encoding="utf-8"))
    state = load_file(str(base_dir / "model.safetensors"))
    head = adapt(state) if adapt is not None else None
    model = bert_graph(state, config["num_attention_heads"], float(config["layer_norm_eps"]), head=head)
    del state
    if precision == "int8":
        model = _quantize(model, folder)
    onnx.save_model(model, str(folder / GRAPH), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=DATA, size_threshold=1024)
    files = {name: {"size": (folder / name).stat().st_size, "sha256": file_digest(folder / name)}
             for name in (GRAPH, DATA)}
    bits = {"weight_bits": weight_bits()} if precision == "int8" else {}
    (folder / CHECK).write_text(json.dumps({"layout": LAYOUT, "kind": kind, "precision": precision, **bits,
                                            "base": base_dir.name, "files": files}, indent=2) + "\n",
                                encoding="utf-8")


def weight_bits() -> int:
    """Bits of an int8 weight on this CPU. Without VNNI, ONNX Runtime's u8 x s8 products add pairs in 16 bits,
    which full-range weights can overflow, so weights keep 7 bits there; with VNNI they keep all 8. The reader
    with 8-bit weights lost 1.5 Chinese F1 points against float32 on seeds-qa dev, with 7-bit ones 8.6
    (BENCHMARKS.md, "The reader in int8")."""
    from qa.encoder.cpu import int8_is_native

    return 8 if int8_is_native() else 7


def _quantize(model, folder: Path):
    """Dynamic int8 (per-channel weights, ``weight_bits`` of them) of the matrix products; embeddings and layer
    norms stay as they are."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    src, dst = folder / "fp32.onnx", folder / "int8.onnx"
    onnx.save_model(model, str(src), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="fp32.onnx.data", size_threshold=1024)
    logging.disable(logging.WARNING)  # its advice to pre-process is for static quantization
    try:
        quantize_dynamic(src, dst, weight_type=QuantType.QInt8, per_channel=True,
                         reduce_range=weight_bits() == 7,
                         op_types_to_quantize=["MatMul"], use_external_data_format=True)
    finally:
        logging.disable(logging.NOTSET)
    out = onnx.load(str(dst))
    for leftover in folder.iterdir():
        leftover.unlink()
    return out
