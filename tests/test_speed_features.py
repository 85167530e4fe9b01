"""Incremental re-indexing, index-type choice, HNSW recall and a light `qa --help`.

The embedding model is replaced by a deterministic fake here: these tests are about what gets
embedded and stored, not about the vectors, and they stay fast without loading torch.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.api import Index
from qa.encoder.embedder import Embedder, passage_text
from qa.errors import QAError
from qa.index import store
from qa.search.retriever import Retriever

ROOT = Path(__file__).resolve().parents[1]
SEED = min((ROOT / "seeds").glob("*.txt"))
DIM = 32


def _fake_vector(text: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest()[:8], "little")
    v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


@pytest.fixture
def embedded(monkeypatch) -> list[str]:
    """Every passage text sent to the model, in order; the model itself is a hash."""
    seen: list[str] = []

    def encode_passages(self, texts, progress=False):
        seen.extend(texts)
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        return np.stack([_fake_vector(t) for t in texts])

    monkeypatch.setattr(Embedder, "encode_passages", encode_passages)
    return seen


def _texts(idx: Index, doc: str | None = None) -> list[str]:
    return [passage_text(p) for p in idx.passages if doc is None or p.doc == doc]


def _check_consistent(idx: Index) -> None:
    n = len(idx.passages)
    assert idx.stored.vectors.shape[0] == n
    assert idx.stored.dense.ntotal == n
    assert len(idx.stored.keys()) == n
    for p, v in zip(idx.passages, idx.stored.vectors):
        assert np.allclose(v, _fake_vector(passage_text(p)), atol=1e-6)


# Three paragraphs and no heading: a longer document also gets its key terms as context, and an
# edit that changes those changes (so re-embeds) every passage of the document.
ALPHA = (
    "The quokkaberry harvest starts in May, when the valley farms hire extra hands for the season.\n\n"
    "Pickers bring baskets, ladders and lunch, and they work from first light until the afternoon heat.\n\n"
    "The market opens at dawn on Saturdays, and the first crates of fruit are sold before sunrise.\n"
)
BETA = (
    "Beta notes\n\n"
    "River barges carry grain downstream to the port, where it is loaded onto ships bound for the coast.\n\n"
    "The lock keeper waves each barge through and writes its name and cargo in a thick ledger.\n\n"
    "Night falls over the docks, the cranes stop, and the harbour lights come on one by one.\n"
)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    # English only: over a mostly Chinese corpus an English question is looked up through a dictionary.
    (folder / "alpha.txt").write_text(ALPHA, encoding="utf-8")
    (folder / "beta.txt").write_text(BETA, encoding="utf-8")
    return folder


def test_rebuilding_an_unchanged_seed_file_embeds_nothing(tmp_path, embedded):
    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copy(SEED, folder / SEED.name)
    first = Index.build([folder], tmp_path / "idx")
    assert len(embedded) == len(first.passages) > 0
    embedded.clear()
    second = Index.build([folder], tmp_path / "idx")
    assert embedded == []
    assert _texts(second) == _texts(first)
    assert np.array_equal(np.asarray(second.stored.vectors), np.asarray(first.stored.vectors))
    _check_consistent(second)


def test_changing_one_file_re_embeds_only_its_changed_passages(tmp_path, corpus, embedded):
    before = Index.build([corpus], tmp_path / "idx")
    old = set(_texts(before))
    embedded.clear()
    (corpus / "alpha.txt").write_text(ALPHA.replace("Pickers bring baskets,", "Pickers bring crates,"),
                                      encoding="utf-8")
    after = Index.build([corpus], tmp_path / "idx")
    new_texts = [t for t in _texts(after) if t not in old]
    assert new_texts, "the edit should have produced a new passage"
    assert sorted(embedded) == sorted(new_texts)
    alpha = _texts(after, "alpha.txt")
    assert set(embedded) <= set(alpha)
    assert len(embedded) < len(alpha)  # the untouched paragraphs of the changed file are reused
    assert any("Pickers bring crates" in t for t in embedded)
    _check_consistent(after)


def test_deleting_a_file_drops_its_passages_and_words(tmp_path, corpus, embedded):
    before = Index.build([corpus], tmp_path / "idx")
    assert before.stored.lexical.scores("quokkaberry").max() > 0
    kept = len(before.passages) - len(_texts(before, "alpha.txt"))
    embedded.clear()
    (corpus / "alpha.txt").unlink()
    after = Index.build([corpus], tmp_path / "idx")
    assert embedded == []
    assert len(after.passages) == kept
    assert not any(p.doc == "alpha.txt" for p in after.passages)
    assert not any("quokkaberry" in t for t in _texts(after))
    # BM25 was rebuilt from the remaining passages: the deleted file's word matches nothing.
    assert after.stored.lexical.scores("quokkaberry").max() == 0
    assert "quokkaberry" not in after.stored.lexical.vocab
    assert after.stored.lexical.scores("barges").max() > 0
    hits = Retriever(after.stored).search("quokkaberry harvest", _fake_vector("q"), 5, "bm25")
    assert not any(after.passages[c.index].doc == "alpha.txt" for c in hits)
    _check_consistent(after)


@pytest.fixture
def tokenized(monkeypatch) -> list[str]:
    """Every text BM25 tokenizes while building."""
    import qa.index.lexical as lexical

    seen: list[str] = []
    real = lexical.tokenize

    def tokenize(text, *args, **kwargs):
        seen.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(lexical, "tokenize", tokenize)
    return seen


def test_an_up_to_date_index_is_left_as_it_is(tmp_path, corpus, embedded, tokenized):
    first = Index.build([corpus], tmp_path / "idx")
    tokenized.clear()
    second = Index.build([corpus], tmp_path / "idx")
    assert second.stored.generation == first.stored.generation  # nothing rewritten
    assert embedded == _texts(first) and tokenized == []
    # asking for another index type is a change: the index is rebuilt, still embedding nothing new
    third = Index.build([corpus], tmp_path / "idx", index_type="hnsw")
    assert third.stored.generation != first.stored.generation
    assert third.manifest["index_type"] == "hnsw"
    assert third.manifest["hnsw"] == {"M": 32, "efConstruction": 128, "efSearch": 128}
    assert embedded == _texts(first)


def test_a_rebuild_tokenizes_only_new_passages_and_scores_as_a_fresh_build(tmp_path, corpus, embedded, tokenized):
    before = Index.build([corpus], tmp_path / "idx")
    old = set(_texts(before))
    tokenized.clear()
    (corpus / "beta.txt").write_text(BETA.replace("thick ledger", "leather ledger"), encoding="utf-8")
    after = Index.build([corpus], tmp_path / "idx")
    new_texts = [t for t in _texts(after) if t not in old]
    assert new_texts and sorted(tokenized) == sorted(new_texts)
    fresh = Index.build([corpus], tmp_path / "fresh")
    for q in ("leather ledger", "thick ledger", "quokkaberry harvest", "barges grain port"):
        assert np.array_equal(after.stored.lexical.scores(q), fresh.stored.lexical.scores(q)), q
    _check_consistent(after)


def test_choose_index_type():
    assert store.choose_index_type(10) == "flat"
    assert store.choose_index_type(store.EXACT_LIMIT) == "flat"
    assert store.choose_index_type(store.EXACT_LIMIT + 1) == "hnsw"
    assert store.choose_index_type(5_000_000) == "hnsw"
    assert store.choose_index_type(10, "hnsw") == "hnsw"
    assert store.choose_index_type(5_000_000, "flat") == "flat"
    with pytest.raises(QAError):
        store.choose_index_type(10, "annoy")


def _clustered(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((n // 200, dim)).astype(np.float32)
    x = centers[rng.integers(0, len(centers), n)] + 0.8 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_hnsw_recall_against_exact():
    # 128 dimensions rather than the model's 384 keep the graph build a few seconds; same parameters.
    x = _clustered(20_100, 128, seed=7)
    base, queries = x[:20_000], np.ascontiguousarray(x[20_000:])
    flat = store.make_dense(base, "flat")
    hnsw = store.make_dense(base, "hnsw")
    assert hnsw.ntotal == flat.ntotal == len(base)
    _, truth = flat.search(queries, 10)
    _, found = hnsw.search(queries, 10)
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)])
    assert recall >= 0.98


def test_hnsw_search_parameters_survive_saving(tmp_path):
    import faiss

    hnsw = store.make_dense(_clustered(2_000, 16, seed=1), "hnsw")
    faiss.write_index(hnsw, str(tmp_path / "d.faiss"))
    back = faiss.read_index(str(tmp_path / "d.faiss"))
    assert back.hnsw.efSearch == hnsw.hnsw.efSearch
    assert back.hnsw.efConstruction == hnsw.hnsw.efConstruction


def test_help_does_not_import_torch():
    code = (
        "import sys, qa.cli\n"
        "try:\n    qa.cli.app(['--help'])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                       check=False)
    assert r.returncode == 0, r.stderr
    assert "Usage" in r.stdout
    r = subprocess.run([sys.executable, "-m", "qa.cli", "--help"], cwd=ROOT, capture_output=True, text=True,
                       timeout=120, check=False)
    assert r.returncode == 0, r.stderr
