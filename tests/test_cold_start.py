"""A cold `qa ask`: what it reads instead of loading whole (jieba's dictionary, the tokenizer, BM25), that each
answers as the original does, and that the libraries only other commands need stay out of the process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.index.jieba_tables import BucketTable, write_table

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
QUESTION = "株洲市中心医院的党委书记是谁？"
TEXTS = [
    QUESTION, "荆州一医全面推行“支部建在科室”，医院一共有多少个党支部？", "张志勇是医院党委书记。",
    "How many beds does Zhuzhou Central Hospital have?", "2021年8月，株洲市中心医院新增床位300张。",
    "湖南省株洲市芦淞区", "中国共产党株洲市委员会组织部", "ＡＢＣ公司在１２号楼", "",
]


@pytest.mark.parametrize("question", [QUESTION, "How many beds does Zhuzhou Central Hospital have in total?"])
def test_asking_leaves_out_what_only_other_commands_need(seeds_index, cache_dir, question):
    """`qa ask` scores BM25 without bm25s (and so without scipy and tqdm's asyncio), opens the index without
    the document readers, and reads jieba's dictionary (word counts and tags) from the tables, not whole."""
    code = (
        "import sys, json\n"
        "from qa.cli import app\n"
        f"try:\n    app(['ask', {question!r}, '--index', {str(seeds_index.folder)!r}, '--json'])\n"
        "except SystemExit as e:\n    assert not e.code, e.code\n"
        "import jieba, jieba.posseg\n"
        "loaded = [m for m in ('bm25s', 'scipy', 'tqdm', 'asyncio', 'qa.documents', 'qa.index.build',\n"
        "                      'charset_normalizer', 'rich') if m in sys.modules]\n"
        "tables = [type(jieba.dt.FREQ).__name__, type(jieba.posseg.dt.word_tag_tab).__name__]\n"
        "print('LOADED', json.dumps([loaded, tables]))\n"
    )
    env = {**os.environ, "QA_CACHE_DIR": str(cache_dir), "PYTHONPATH": str(ROOT)}
    env.pop("QA_ENGINE", None)
    for _ in range(2):  # the first run may write the tables and the tokenizer copy; the second reads them
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                             timeout=300)
        assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout[: res.stdout.rindex("LOADED")])
    assert question != QUESTION or out["answer"]["text"] == "张志勇", out
    assert json.loads(res.stdout.split("LOADED", 1)[1]) == [[], ["BucketTable", "BucketTable"]]


def test_a_bucket_table_answers_as_its_dict_and_gives_way_to_it(tmp_path):
    table = {"株洲": 3, "株洲市": 0, "医院": 7, "a": 1, "\ud800x": 2}
    write_table(tmp_path / "t.tab", table, buckets=4)
    got = BucketTable(tmp_path / "t.tab")
    for key in [*table, "missing", "株"]:
        assert (key in got) == (key in table) and got.get(key) == table.get(key) and got.get(key, -1) == table.get(key, -1)
    assert got["医院"] == 7 and got.to_dict() == table
    with pytest.raises(KeyError):
        got["missing"]
    got["新词"] = 5  # as jieba.add_word does
    assert got["新词"] == 5

    replaced: list[dict] = []
    lazy = BucketTable(tmp_path / "t.tab", replaced.append)
    for key in table:  # reading half the buckets hands over the whole table, once
        _ = key in lazy
    assert replaced == [table]


def test_jieba_cuts_and_tags_from_the_tables_as_from_its_own_dictionary(cache_dir, monkeypatch):
    """Every lookup answers as jieba's own tables: the same words, search words and part-of-speech tags."""
    import jieba
    import jieba.posseg

    from qa.index import jieba_tables

    monkeypatch.setenv("QA_CACHE_DIR", str(cache_dir))
    folder = jieba_tables.tables(jieba)
    assert folder is not None
    own = jieba.Tokenizer()
    own.initialize()
    own_tags = jieba.posseg.POSTokenizer(own)
    tabled = jieba.Tokenizer()
    tabled.FREQ = BucketTable(folder / jieba_tables.FREQ_FILE)
    tabled.total = json.loads((folder / jieba_tables.INFO_FILE).read_text())["total"]
    tabled.initialized = True
    tabled_tags = jieba.posseg.POSTokenizer(own)
    tabled_tags.tokenizer = tabled
    tabled_tags.word_tag_tab = BucketTable(folder / jieba_tables.TAGS_FILE)
    texts = TEXTS + [p.read_text(encoding="utf-8")[:3000] for p in sorted(SEEDS.glob("*.txt"))]
    for text in texts:
        assert list(tabled.cut_for_search(text)) == list(own.cut_for_search(text))
        assert list(tabled.cut(text, HMM=False)) == list(own.cut(text, HMM=False))
        assert [tuple(p) for p in tabled_tags.cut(text)] == [tuple(p) for p in own_tags.cut(text)]


def test_the_bridge_tables_kept_in_the_cache_are_the_ones_it_builds(tmp_path, monkeypatch):
    from qa.index import bridge

    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path))
    bridge._tables.cache_clear()
    try:
        built = bridge._tables()
        assert bridge._tables_file().is_file()
        bridge._tables.cache_clear()
        kept = bridge._tables()
    finally:
        bridge._tables.cache_clear()
    assert kept is not built and kept == built
    assert all(list(kept[name]) == list(built[name]) for name in built)  # the same order too
    assert kept["english_to_chinese"]["hospital"] == built["english_to_chinese"]["hospital"]


def test_english_stop_words_are_bm25s_own_lists(monkeypatch):
    import bm25s.stopwords

    from qa.index import languages

    monkeypatch.delitem(sys.modules, "bm25s")  # as in a process that never imported it
    languages._bm25s_stopwords.cache_clear()
    try:
        read = languages._bm25s_stopwords()
    finally:
        languages._bm25s_stopwords.cache_clear()
    assert read is not bm25s.stopwords
    assert all(getattr(read, name) == getattr(bm25s.stopwords, name) for name in languages._STOPWORD_LISTS.values())


def test_bm25_read_without_bm25s_scores_as_bm25s(tmp_path):
    import bm25s

    from qa.index.bm25 import StoredScores
    from qa.index.lexical import LexicalIndex

    texts = [p.read_text(encoding="utf-8")[:2000] for p in sorted(SEEDS.glob("*.txt"))]
    texts += ["The hospital has 1,200 beds.", "Beds and wards of the hospital."]
    LexicalIndex.build(texts).save(tmp_path)
    own = bm25s.BM25.load(str(tmp_path), load_corpus=False, mmap=True)
    read = StoredScores.load(tmp_path)
    assert isinstance(read, StoredScores)
    vocab = json.loads((tmp_path / "vocab.index.json").read_text(encoding="utf-8"))
    rng = np.random.default_rng(0)
    for ids in ([0], [vocab[w] for w in list(vocab)[:5]], list(rng.integers(0, len(vocab), 12)), [3, 3, 7]):
        mine, theirs = read.get_scores([int(i) for i in ids]), own.get_scores([int(i) for i in ids])
        assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs)
    assert read.scores["num_docs"] == own.scores["num_docs"]


def test_the_compact_tokenizer_copy_encodes_as_the_original(model_dir, tmp_path):
    from tokenizers import Tokenizer

    from qa.encoder.onnx_runtime import Tokens, compact_path

    original = tmp_path / "tokenizer.json"
    original.write_bytes((model_dir / "tokenizer.json").read_bytes())
    first = Tokens(original)  # reads the original, writes the copy
    assert compact_path(original).is_file()
    second = Tokens(original)  # reads the copy
    own = Tokenizer.from_file(str(original))
    texts = TEXTS + [p.read_text(encoding="utf-8")[:3000] for p in sorted(SEEDS.glob("*.txt"))]
    for tok in (first.tokenizer, second.tokenizer):
        assert tok.to_str() == own.to_str()
        for a, b in zip(tok.encode_batch(texts), own.encode_batch(texts)):
            assert (a.ids, a.offsets) == (b.ids, b.offsets)
    old = compact_path(original)
    st = original.stat()
    os.utime(original, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert compact_path(original) != old  # a changed original is read again, never through the old copy


def test_a_bm25_index_read_without_bm25s_saves_as_bm25s_does(tmp_path):
    import bm25s

    from qa.index.lexical import LexicalIndex

    texts = [p.read_text(encoding="utf-8")[:2000] for p in sorted(SEEDS.glob("*.txt"))]
    LexicalIndex.build(texts).save(tmp_path / "a")
    LexicalIndex.load(tmp_path / "a").save(tmp_path / "b")  # a generation written from an opened one
    bm25s.BM25.load(str(tmp_path / "a"), load_corpus=False, mmap=True).save(str(tmp_path / "c"), corpus=None)
    for name in ("data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy", "params.index.json"):
        assert (tmp_path / "b" / name).read_bytes() == (tmp_path / "c" / name).read_bytes(), name
    for name in ("vocab.index.json", "langs.txt", "analysis.json"):
        assert (tmp_path / "b" / name).read_bytes() == (tmp_path / "a" / name).read_bytes(), name
