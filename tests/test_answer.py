"""Sentence splitting, the English-Chinese word bridge and BM25 tokenization."""

from qa.answer import split_sentences
from qa.bridge import translate
from qa.lexical import LexicalIndex, tokenize


def sentences(text):
    return [text[a:b] for a, b in split_sentences(text)]


def test_chinese_sentence_ends_keep_closing_quotes_and_brackets():
    text = "他说：“好。”然后走了……对吗？（是的！）最后一句；还有"
    assert sentences(text) == ["他说：“好。”", "然后走了……", "对吗？", "（是的！）", "最后一句；", "还有"]


def test_decimals_and_abbreviations_do_not_end_english_sentences():
    text = "Dr. Smith paid $1.5 million to St. Mary's, e.g. for beds. Then he left! Did he? Yes."
    assert sentences(text) == ["Dr. Smith paid $1.5 million to St. Mary's, e.g. for beds.", "Then he left!",
                               "Did he?", "Yes."]


def test_chinese_is_tokenized_into_words_and_scripts_are_folded():
    assert "书记" in tokenize("党委书记") and "党委" in tokenize("党委书记")
    assert tokenize("醫院黨委書記") == tokenize("医院党委书记")
    assert tokenize("Zhuzhou No.2 Hospital, 1.5 times") == ["zhuzhou", "no.2", "hospital", "1.5", "times"]


def test_traditional_question_finds_simplified_passage():
    lex = LexicalIndex.build(["株洲市中心医院的党委书记是张志勇。", "荆州一医的院长是李茂坤。"])
    scores = lex.scores("荊州一醫的院長是誰？")
    assert scores[1] > 0 and scores[0] < scores[1]


def test_english_words_are_carried_to_chinese_corpus_words():
    vocab = {"院长": 0, "株洲": 1, "医院": 2, "桂林": 3, "扶贫": 4}
    words, matched = translate("Who is the president (dean) of Zhuzhou Central Hospital?", vocab)
    assert {"院长", "株洲", "医院"} <= set(words) and "桂林" not in words
    assert matched >= 3
    assert "扶贫" in translate("poverty alleviation funds", vocab)[0]
