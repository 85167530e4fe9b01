"""Writes a BERT encoder (the default model, or the reader built on it) as an ONNX graph from its weights.

The graph is made from numpy arrays with the `onnx` package alone, so converting needs no torch. It computes
what the Hugging Face ``BertModel`` computes (post-LN layers, exact-erf GELU, additive attention mask), with
token type 0 everywhere. The word-embedding table stays float16 (the rebuilt model stores it so: exact), is
gathered and cast to float32; every other weight is float32, so int8 quantization sees the matrices.
"""

from __future__ import annotations

import numpy as np

OPSET = 20  # Gelu and LayerNormalization are plain operators from opset 20
_LAYER_PARTS = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm")


class _Graph:
    def __init__(self):
        self.nodes, self.inits, self._n = [], [], 0

    def const(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, kind: str, inputs: list[str], **attrs) -> str:
        from onnx import helper

        self._n += 1
        out = f"{kind.lower()}_{self._n}"
        self.nodes.append(helper.make_node(kind, inputs, [out], name=out, **attrs))
        return out

    def linear(self, x: str, state: dict[str, np.ndarray], name: str) -> str:
        w = self.const(f"{name}.weight", state[f"{name}.weight"].astype(np.float32).T)
        b = self.const(f"{name}.bias", state[f"{name}.bias"].astype(np.float32))
        return self.op("Add", [self.op("MatMul", [x, w]), b])

    def layer_norm(self, x: str, state: dict[str, np.ndarray], name: str, eps: float) -> str:
        g = self.const(f"{name}.weight", state[f"{name}.weight"].astype(np.float32))
        b = self.const(f"{name}.bias", state[f"{name}.bias"].astype(np.float32))
        return self.op("LayerNormalization", [x, g, b], axis=-1, epsilon=eps)


def bert_graph(state: dict[str, np.ndarray], heads: int, eps: float, prefix: str = "",
               head: dict[str, np.ndarray] | None = None):
    """The ONNX model of ``state`` (names as in ``BertModel``, under ``prefix``).

    Inputs ``input_ids`` and ``attention_mask`` (int64, [batch, tokens]). Output ``hidden`` [batch, tokens, dim],
    or with ``head`` (``weight`` [2, dim], ``bias`` [2]) ``logits`` [batch, tokens, 2] (start, end).
    """
    from onnx import TensorProto, helper

    g = _Graph()
    st = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    word = g.const("word_embeddings", st["embeddings.word_embeddings.weight"].astype(np.float16))
    pos_type = st["embeddings.position_embeddings.weight"].astype(np.float32) \
        + st["embeddings.token_type_embeddings.weight"][0].astype(np.float32)
    pos = g.const("position_embeddings", pos_type)
    dim = pos_type.shape[1]
    size = dim // heads

    tokens = g.op("Shape", ["input_ids"], start=1, end=2)  # [tokens], 1-D
    first = g.op("Slice", [pos, g.const("zero", np.array([0], dtype=np.int64)), tokens,
                           g.const("axis0", np.array([0], dtype=np.int64))])
    emb = g.op("Add", [g.op("Cast", [g.op("Gather", [word, "input_ids"])], to=TensorProto.FLOAT), first])
    x = g.layer_norm(emb, st, "embeddings.LayerNorm", eps)

    mask = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    bias = g.op("Mul", [g.op("Sub", [g.const("f_one", np.array(1.0, dtype=np.float32)), mask]),
                        g.const("neg", np.array(-1e4, dtype=np.float32))])
    bias = g.op("Unsqueeze", [bias, g.const("axes_1_2", np.array([1, 2], dtype=np.int64))])
    split = g.const("split_heads", np.array([0, 0, heads, size], dtype=np.int64))
    merge = g.const("merge_heads", np.array([0, 0, dim], dtype=np.int64))
    scale = g.const("scale", np.array(1.0 / np.sqrt(size), dtype=np.float32))

    n_layers = 1 + max(int(k.split(".")[2]) for k in st if k.startswith("encoder.layer."))
    for n in range(n_layers):
        p = f"encoder.layer.{n}."

        def heads_of(name: str, perm: list[int]) -> str:
            return g.op("Transpose", [g.op("Reshape", [g.linear(x, st, p + name), split])], perm=perm)

        q = g.op("Mul", [heads_of("attention.self.query", [0, 2, 1, 3]), scale])
        k = heads_of("attention.self.key", [0, 2, 3, 1])
        v = heads_of("attention.self.value", [0, 2, 1, 3])
        probs = g.op("Softmax", [g.op("Add", [g.op("MatMul", [q, k]), bias])], axis=-1)
        ctx = g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3]), merge])
        a = g.layer_norm(g.op("Add", [g.linear(ctx, st, p + "attention.output.dense"), x]), st,
                         p + "attention.output.LayerNorm", eps)
        f = g.op("Gelu", [g.linear(a, st, p + "intermediate.dense")])
        x = g.layer_norm(g.op("Add", [g.linear(f, st, p + "output.dense"), a]), st, p + "output.LayerNorm", eps)

    out_name = "hidden"
    if head is not None:
        x = g.linear(x, {"head.weight": head["weight"], "head.bias": head["bias"]}, "head")
        out_name = "logits"
    g.nodes.append(helper.make_node("Identity", [x], [out_name], name="output"))
    batch_tokens = ["batch", "tokens"]
    graph = helper.make_graph(
        g.nodes, "bert",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, batch_tokens),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, batch_tokens)],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, [*batch_tokens, 2 if head else dim])],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="qa")
    model.ir_version = 9
    return model
