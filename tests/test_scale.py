"""The streaming build and the IVF-PQ index: same index as the in-memory path, exact re-ranking.

The model is the deterministic hash of test_speed_features (these tests are about what is stored);
the Ray tests, with the real model, are in test_ray.py.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.api import Index
from qa.encoder.embedder import passage_text
from qa.index import build as build_mod
from qa.index import ivfpq, store
from qa.index.lexical import LexicalIndex

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_speed_features import ALPHA, BETA, _check_consistent, _fake_vector, embedded  # noqa: E402,F401

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"


def test_a_streamed_build_is_the_index_the_in_memory_writer_makes(tmp_path, embedded, monkeypatch):
    monkeypatch.setattr(build_mod, "CHUNK", 7)  # many chunks, so their order is what is tested
    monkeypatch.setattr(build_mod.TokenIds, "BUFFER", 5)  # word ids go to their file many times
    streamed = Index.build([SEEDS], tmp_path / "streamed")
    assert not list(streamed.stored.generation.rglob("ids.tmp"))  # dropped once BM25 is built
    passages = streamed.passages
    texts = [passage_text(p) for p in passages]
    lexical = LexicalIndex.build(texts)
    vectors = np.stack([_fake_vector(t) for t in texts])
    with store.write_lock(tmp_path / "memory"):
        store.write_index(tmp_path / "memory", passages, vectors, lexical, {"model": streamed.manifest["model"]},
                          streamed.stored.keys())
    memory = store.open_index(tmp_path / "memory")
    assert memory.passages == passages
    assert np.array_equal(np.asarray(memory.vectors), np.asarray(streamed.stored.vectors))
    assert memory.lexical.vocab == streamed.stored.lexical.vocab
    for q in ("株洲市中心医院 党委书记", "儿童 医院", "荆州"):
        assert np.array_equal(memory.lexical.scores(q), streamed.stored.lexical.scores(q)), q
    for name in ("passages.jsonl", "keys.txt", "lexical/tokens.tsv"):
        assert (memory.generation / name).read_bytes() == (streamed.stored.generation / name).read_bytes(), name
    assert streamed.manifest["engine"] == "local"
    _check_consistent(streamed)


def test_a_rebuild_in_small_chunks_keeps_reused_and_new_passages_in_order(tmp_path, embedded, monkeypatch):
    monkeypatch.setattr(build_mod, "CHUNK", 2)
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(min(SEEDS.glob("*.txt")), docs / "a.txt")
    (docs / "b.txt").write_text(BETA, encoding="utf-8")
    first = Index.build([docs], tmp_path / "idx")
    embedded.clear()
    (docs / "alpha.txt").write_text(ALPHA, encoding="utf-8")  # new passages between reused ones
    (docs / "b.txt").write_text(BETA.replace("thick ledger", "leather ledger"), encoding="utf-8")
    second = Index.build([docs], tmp_path / "idx")
    old = {passage_text(p) for p in first.passages}
    assert sorted(embedded) == sorted(passage_text(p) for p in second.passages if passage_text(p) not in old)
    _check_consistent(second)
    fresh = Index.build([docs], tmp_path / "fresh")
    assert np.array_equal(np.asarray(fresh.stored.vectors), np.asarray(second.stored.vectors))
    assert np.array_equal(fresh.stored.lexical.scores("leather ledger"), second.stored.lexical.scores("leather ledger"))


def test_the_vector_file_reads_back_as_numpy_writes_it(tmp_path):
    rows = np.random.default_rng(0).standard_normal((1000, 24)).astype(np.float32)
    vf = build_mod.VectorFile(tmp_path / "v.npy")
    for s in range(0, 1000, 300):
        vf.append(rows[s:s + 300])
    vf.close()
    back = np.load(tmp_path / "v.npy", mmap_mode="r")
    assert back.shape == (1000, 24) and back.dtype == np.float32 and np.array_equal(back, rows)


def test_an_empty_corpus_leaves_no_generation_behind(tmp_path, embedded):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "empty.txt").write_text("   \n", encoding="utf-8")
    with pytest.raises(Exception, match="nothing to index"):
        Index.build([tmp_path / "docs"], tmp_path / "idx")
    assert not list((tmp_path / "idx").glob("gen-*"))


def test_ivfpq_on_the_seeds_answers_as_exact_search(tmp_path, embedded):
    flat = Index.build([SEEDS], tmp_path / "flat", index_type="flat")
    pq = Index.build([SEEDS], tmp_path / "pq", index_type="ivfpq")
    assert pq.manifest["index_type"] == "ivfpq"
    s = pq.manifest["ivfpq"]
    assert s["nlist"] >= 1 and 2 ** s["nbits"] <= len(pq.passages)
    assert isinstance(pq.stored.dense, ivfpq.Reranked)
    # the shortlist holds every passage here, so the re-ranked scores are the exact ones
    for q in ("党委书记", "hospital", "儿童"):
        v = _fake_vector(q)
        for mode in ("dense", "hybrid"):
            a = [(c.index, round(c.score, 5)) for c in flat.retriever.search(q, v, 10, mode)]
            b = [(c.index, round(c.score, 5)) for c in pq.retriever.search(q, v, 10, mode)]
            assert a == b, (q, mode)
    reopened = Index.open(tmp_path / "pq")
    assert reopened.stored.dense.ntotal == len(pq.passages)


def test_ivfpq_recall_after_re_ranking_on_clustered_vectors(tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    import faiss
    from speed import synthetic

    xb, xq = synthetic(30_000, n_queries=50)
    np.save(tmp_path / "v.npy", xb)
    vectors = np.load(tmp_path / "v.npy", mmap_mode="r")
    s = ivfpq.settings_for(len(xb), xb.shape[1])
    index = ivfpq.Reranked(ivfpq.build(vectors, s), vectors, s)
    exact = faiss.IndexFlatIP(xb.shape[1])
    exact.add(xb)
    d_true, truth = exact.search(xq, 10)
    d, found = index.search(xq, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found.tolist(), truth.tolist())])
    assert recall >= 0.98
    # re-ranked scores are exact cosines, not PQ estimates
    hit = found[:, 0] == truth[:, 0]
    assert hit.mean() > 0.9 and np.allclose(d[hit, 0], d_true[hit, 0], atol=1e-5)
    # 48 bytes a vector of codes (+ 8 of id): far less than the 1,536 of a float vector
    with (tmp_path / "i.faiss").open("wb"):
        pass
    faiss.write_index(index.index, str(tmp_path / "i.faiss"))
    assert (tmp_path / "i.faiss").stat().st_size < 0.1 * xb.nbytes


def test_auto_chooses_ivfpq_above_the_limit():
    assert store.choose_index_type(store.IVFPQ_LIMIT) == "hnsw"
    assert store.choose_index_type(store.IVFPQ_LIMIT + 1) == "ivfpq"
    assert store.choose_index_type(10, "ivfpq") == "ivfpq"


def test_reuse_reads_only_a_lookup_table(tmp_path, embedded):
    built = Index.build([SEEDS], tmp_path / "idx")
    reuse = build_mod.Reuse.open(tmp_path / "idx", built.stored.model_name)
    keys = built.stored.keys()
    assert reuse.hashes.nbytes + reuse.rows.nbytes == 16 * len(keys)
    assert [reuse.row(k) for k in keys] == list(range(len(keys)))
    assert reuse.row("0" * 40) == -1
    words = (built.stored.generation / "lexical" / "tokens.tsv").read_text(encoding="utf-8").splitlines()
    assert reuse.tokens(5, "zh") == words[5].split("\t")
    assert reuse.tokens(5, "en") is None  # words read as another language are read again
    assert build_mod.Reuse.open(tmp_path / "idx", "another-model") is None
    reuse.close()
    manifest = json.loads((built.stored.generation / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["passages"] == len(keys)


def test_fold_skips_the_converter_only_for_texts_it_would_leave_as_they_are():
    from qa.index import lexical

    converter = lexical._folder()
    chars, longer = lexical._convertible()
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    texts += ["醫院的院長是誰？", "他沈默了很久。", "有序地排隊。", "乾隆年间", "株洲市中心医院 党委书记", "Hospital 院长"]
    texts += list(longer) + [c + "医院" for c in sorted(chars)[:200]]
    skipped = [t for t in texts if not lexical._may_convert(t)]
    assert skipped and len(skipped) < len(texts)
    for t in texts:
        assert lexical.fold(t) == converter.convert(t).lower(), t
    for t in skipped:
        assert converter.convert(t) == t
    assert not lexical._may_convert("株洲市中心医院 党委书记") and lexical._may_convert("醫院")


CMRC = ROOT.parent / "shared" / "bench" / "cmrc2018-train"


@pytest.mark.skipif(not CMRC.is_dir(), reason="needs ../shared/bench beside the project")
def test_the_sliced_bm25_build_is_bm25s_own_matrix(monkeypatch):
    import bm25s

    from qa.index import bm25
    from qa.index.lexical import tokenize

    rows = [json.loads(line) for line in (CMRC / "corpus.jsonl").open(encoding="utf-8")][:300]
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    texts += [r["text"] for r in rows] + ["", "Hospitals and a hospital in English text."]
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(w, len(vocab)) for w in tokenize(t)] for t in texts]
    own = bm25s.BM25(k1=1.2, b=0.75)
    own.index(bm25s.tokenization.Tokenized(ids=ids, vocab=dict(vocab)), show_progress=False)
    for size in (1, 1000, bm25.SLICE):  # a passage a slice, many slices, one slice
        monkeypatch.setattr(bm25, "SLICE", size)
        sliced = bm25.sliced_bm25(k1=1.2, b=0.75)
        sliced.index(bm25s.tokenization.Tokenized(ids=ids, vocab=dict(vocab)), show_progress=False)
        for key in ("data", "indices", "indptr"):
            assert sliced.scores[key].dtype == own.scores[key].dtype
            assert np.array_equal(sliced.scores[key], own.scores[key]), (size, key)
        assert sliced.scores["num_docs"] == len(texts)
        q = [vocab[w] for w in tokenize("株洲市中心医院的党委书记") if w in vocab]
        assert np.array_equal(sliced.get_scores(q), own.get_scores(q))
