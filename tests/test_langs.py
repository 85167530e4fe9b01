"""Languages: detection, per-language BM25 analysis, per-pair abstain limits and mixed corpora."""

import json
import shutil
from pathlib import Path

import pytest

from qa.index import languages as L
from qa.index.bridge import translate
from qa.index.lexical import ANALYSIS_FILE, LANGS_FILE, LexicalIndex, tokenize
from qa.search.answerer import AbstainRule

SQUAD = Path(__file__).resolve().parents[2] / "shared" / "bench" / "squadshifts-wiki"
DEV = Path(__file__).resolve().parent / "data" / "seeds-dev.jsonl"
SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def test_languages_are_told_by_script_then_by_py3langid():
    assert L.detect("株洲市中心医院的党委书记是谁？") == "zh"
    assert L.detect("東京タワーはいつ完成しましたか") == "ja"
    assert L.detect("กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย") == "th"
    assert L.detect("서울은 한국의 수도입니다") == "ko"
    assert L.detect("The hospital was founded in 1901 by the city council and has grown ever since.") == "en"
    assert L.detect("Das Krankenhaus wurde 1901 von der Stadt gegründet und ist heute das größte der Region.") == "de"
    assert L.detect("L'hôpital a été fondé en 1901 par la ville et il est aujourd'hui le plus grand.") == "fr"
    # a Chinese quote leaves an English paragraph English; English names leave a Chinese one Chinese
    assert L.detect("Beijing (北京) is the capital of China and home to many universities.") == "en"
    assert L.detect("株洲市中心医院(Zhuzhou Central Hospital)成立于1950年,是一所三甲医院。") == "zh"


def test_short_passages_take_their_documents_language():
    long_de = "Das Krankenhaus wurde 1901 von der Stadt gegründet und ist heute das größte der ganzen Region. " * 3
    langs = L.detect_passages([long_de, "Kontakt", "Hello", "医院"], ["a", "a", "b", "c"])
    assert langs[:2] == ["de", "de"] and langs[3] == "zh"


def test_english_is_stemmed_without_stop_words_and_chinese_is_unchanged():
    assert tokenize("What were the hospitals' founding years?", "en") == tokenize("hospital founded year", "en")
    assert "the" not in tokenize("the hospital", "en") and "what" not in tokenize("what hospital", "en")
    assert tokenize("Les hôpitaux de la ville", "fr") == ["hôpital", "vill"]
    assert tokenize("党委书记", "zh") == tokenize("党委书记", "zh", version=L.LEGACY)
    assert "书记" in tokenize("党委书记") and "党委" in tokenize("党委书记")


def test_an_inflected_english_question_finds_its_passage():
    lex = LexicalIndex.build(["The hospital was founded in 1901 by the city.", "Rivers carry water to the sea.",
                              "Hospitality is the relationship between a guest and a host."])
    assert lex.langs == ["en", "en", "en"]
    scores = lex.scores("Which hospitals were founded by cities?")
    assert scores.argmax() == 0 and lex.coverage("Which hospitals were founded by cities?") == 1.0


def test_japanese_and_thai_are_cut_into_bigrams_and_found_by_their_questions():
    texts = ["東京タワーは1958年に完成した総合電波塔で、高さは333メートルです。",
             "富士山は日本で最も高い山で、標高は3776メートルです。",
             "กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย",
             "เชียงใหม่เป็นเมืองใหญ่ทางภาคเหนือ",
             "株洲市中心医院的党委书记是张志勇。"]
    lex = LexicalIndex.build(texts)
    assert lex.langs == ["ja", "ja", "th", "th", "zh"]
    words = tokenize(texts[0], "ja")
    assert max(len(w) for w in words if not w.isdigit()) <= 2 and "タワ" in words
    assert lex.scores("東京タワーはいつ完成しましたか").argmax() == 0
    assert lex.scores("富士山の標高は").argmax() == 1
    assert lex.scores("เมืองหลวงของไทย").argmax() == 2
    assert lex.question_language("東京タワーはいつ完成しましたか") == "ja"


def test_an_index_from_before_languages_reads_questions_as_it_was_built(tmp_path):
    lex = LexicalIndex.build(["The hospitals were founded in 1901.", "Rivers carry water."], ["zh", "zh"])
    lex.save(tmp_path)
    (tmp_path / LANGS_FILE).unlink()
    (tmp_path / ANALYSIS_FILE).unlink()
    old = LexicalIndex.load(tmp_path)
    assert old.version == L.LEGACY
    assert "hospitals" in old.query_terms("Which hospitals were founded?")[0]  # unstemmed, as its words are
    assert old.scores("Which hospitals were founded?").argmax() == 0


def test_saved_words_are_reused_only_from_the_same_analyzer_and_language(tmp_path):
    import numpy as np

    from qa.index.build import Reuse

    (tmp_path / "lexical").mkdir()
    LexicalIndex.build(["The hospitals were founded in 1901.", "医院"]).save(tmp_path / "lexical")
    rows = (np.array([1, 2], dtype=np.uint64), np.array([0, 1]), np.zeros((2, 4), dtype=np.float32))
    same = Reuse(tmp_path, *rows, analyzer=L.ANALYZER_VERSION)
    assert same.tokens(0, "en") == ["hospit", "found", "1901"] and same.tokens(1, "zh") == ["医院"]
    assert same.tokens(0, "de") is None  # read as another language: read again
    same.close()
    assert Reuse(tmp_path, *rows, analyzer=L.ANALYZER_VERSION - 1).tokens(0, "en") is None


def test_bridge_word_forms_come_from_lemmas_and_stems():
    vocab = {"儿童": 0, "医院": 1, "中央": 2, "中心": 5, "区域": 3, "地区": 6, "诊断": 4}
    assert "儿童" in translate("children", vocab)[0]  # lemminflect: children -> child
    assert "医院" in translate("hospitals", vocab)[0]
    assert "诊断" in translate("diagnosed", vocab)[0]
    assert {"中央", "中心"} <= set(translate("central", vocab)[0])  # and center, by its stem
    assert "区域" in translate("regional", vocab)[0]  # region
    leading = {"领导": 7, "牵头": 8, "谈话": 9}
    assert "谈话" in translate("talks", leading)[0]  # a headword itself, and a regular form of talk
    assert translate("led", leading)[0] == []  # LED, a headword itself, is not read as lead
    assert "领导" in translate("lead", leading)[0]


def test_abstain_limits_by_language_pair():
    rule = AbstainRule()
    assert rule.limits("zh", "zh", False) == (rule.min_dense, rule.min_match)
    assert rule.limits("en", "zh", True) == (rule.min_dense_bridged, rule.min_match_bridged)
    english = rule.limits("en", "en", False)
    assert english != (rule.min_dense, rule.min_match)
    assert rule.limits("de", "de", False) == english  # stemmed like English, no dev set of its own
    assert rule.limits("zh", "en", False) == (rule.min_dense_bridged, 0.0)  # no dictionary that way
    # English quoting Chinese words is matched on them directly, under the cross-lingual floors
    assert rule.limits("en", "zh", False) == rule.limits("en", "zh", True)


def _squad_subset(folder: Path, n: int) -> tuple[Path, list[dict]]:
    rows = (SQUAD / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[:n]
    ids = {json.loads(r)["id"] for r in rows}
    path = folder / "squad.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    qs = [json.loads(line) for line in (SQUAD / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    return path, [q for q in qs if set(q["gold"]) & ids]


def _recall_at_1(index, questions) -> tuple[float, int]:
    """Retrieval's recall@1 and its abstentions (the reader's and verifier's are measured in BENCHMARKS.md)."""
    answers = index.ask_many([(q["id"], q["question"]) for q in questions], top_k=5, reader=False)
    top1 = sum(a.hits[0].passage.doc in q["gold"] for q, a in zip(questions, answers))
    return top1 / len(questions), sum(a.abstained for a in answers)


def _hit5(index, questions) -> list[bool]:
    answers = index.ask_many([(q["id"], q["question"]) for q in questions], top_k=5)
    return [any(h.passage.doc in q["docs"] and any(x in h.passage.text for x in q["answers"]) for h in a.hits)
            for q, a in zip(questions, answers)]


@pytest.mark.skipif(not SQUAD.is_dir(), reason="needs ../shared/bench beside the project")
def test_a_mixed_index_answers_each_language_as_its_own_index(tmp_path, seeds_index, cache_dir):
    from qa.api import Index

    corpus, questions = _squad_subset(tmp_path, 30)
    mixed_dir = tmp_path / "mixed"
    shutil.copytree(seeds_index.folder, mixed_dir)  # reuses the seeds' vectors
    mixed = Index.build([SEEDS, corpus], mixed_dir, cache_dir=cache_dir)
    assert set(mixed.stored.lexical.languages) == {"zh", "en"}
    assert mixed.manifest["languages"]["en"] == 30
    english_dir = tmp_path / "english"
    shutil.copytree(mixed_dir, english_dir)
    english = Index.build([corpus], english_dir, cache_dir=cache_dir)

    alone, alone_abstained = _recall_at_1(english, questions)
    together, abstained = _recall_at_1(mixed, questions)
    assert alone >= 0.8 and together >= alone - 0.01
    assert abstained <= 0.05 * len(questions) and alone_abstained <= 0.05 * len(questions)

    dev = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines()]
    answerable = [q for q in dev if q["answers"]]
    lost = [q["id"] for q, m, s in zip(answerable, _hit5(mixed, answerable), _hit5(seeds_index, answerable))
            if s and not m]
    assert not lost
    # the English passages in the pool leave the order of the Chinese ones as in the seeds' own index
    q = "Who led the COVID-19 diagnosis and treatment group at Zhuzhou No.2 Hospital?"  # seeds-qa dev n59
    ranked = [(h.passage.doc, h.passage.paragraph) for h in mixed.ask(q, top_k=5, reader=False).hits]
    assert ranked == [(h.passage.doc, h.passage.paragraph) for h in seeds_index.ask(q, top_k=5, reader=False).hits]
    # an English question about a seed is still answered from the Chinese text
    answer = mixed.ask("Who is the president (dean) of Jingzhou First Hospital?")
    assert not answer.abstained and answer.hits[0].passage.doc.startswith("003_")
