"""Tokens by Unicode script and emoticons: the readable regex, the numpy spans and the
compiled loops give the same tokens, on chosen texts and any text."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from sentiment.features.scripts import _STARTS
from sentiment.features.tokens import hash_corpus, tokenize


def unigrams(texts: list[str]) -> list[list[str]]:
    """Each text's tokens as hash_corpus finds them (compiled or numpy: the fixture's)."""
    corpus = hash_corpus(texts, 1, keep_text=True)
    words = corpus.words(np.arange(len(corpus.hashes)))
    out = [[] for _ in texts]
    for row, word in zip(corpus.rows.tolist(), words):
        out[row].append(word)
    return out


@pytest.mark.parametrize("text, tokens", [
    ("great :( :-) <3 #amazing @united", ["great", ":(", ":-)", "<3", "amazing", "united"]),
    ("质量还挺好，还没开始用", ["质", "量", "还", "挺", "好", "还", "没", "开", "始", "用"]),
    ("ホテルは良かった😀👍🏽", ["ホ", "テ", "ル", "は", "良", "か", "っ", "た", "😀", "👍"]),
    ("อร่อย มาก ่ก", ["อ", "ร่", "อ", "ย", "ม", "า", "ก", "่", "ก"]),
    ("thx :D :P ;) =] :'( :3", ["thx", ":d", ":p", ";)", "=]", ":'(", ":3"]),
    ("re:dog :do :d's", ["re", "dog", "do", ":d", "s"]),
    ("спасибо))) ужас((", ["спасибо", ")))", "ужас", "(("]),
    ("^^ ^_^ -_- >_< </3 <33", ["^^", "^_^", "-_-", ">_<", "</3", "<33"]),
    ("I'm not happy :) today. Café «naïve»", ["i'm", "not", "happy", ":)", "today", "café",
                                             "naïve"]),
    ("서비스 좋아요 ok", ["서비스", "좋아요", "ok"]),
    ("２０２０年ＯＫ", ["2020", "年", "ok"]),
])
def test_tokens_by_script(text, tokens, loops):
    assert tokenize(text) == tokens
    assert unigrams([text]) == [tokens]


PIECES = st.one_of(
    st.sampled_from(list("aZ09'!? \x00.,;:()\"<>=^-_/|*[]3dpoD") + [
        ":)", ":-(", ":'(", ";D", ":p", ":d's", "<3", "</3", ")))", "((", "^_^", "-__-",
        ">_<", "质量", "，", "。", "ホテル", "สวัสดี", "😀", "👍🏽", "\u200d", "\ufe0f", "«",
        "\u00d7", "ｇ", "é", "not ", "n't ", "don't "]),
    st.characters())


@hyp_settings(max_examples=300, derandomize=True, deadline=None)
@given(st.lists(st.lists(PIECES, max_size=10).map("".join), max_size=5))
def test_every_implementation_finds_the_same_tokens(texts):
    from sentiment.native import loops as fast

    want = [tokenize(t) for t in texts]
    for pure in ("1", "0") if fast._compiled is not None else ("1",):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SENTIMENT_PURE", pure)
            assert unigrams(texts) == want


def test_the_compiled_ranges_are_the_python_ranges(loops):
    """Every code point where a class starts, and the one before it, between two words."""
    points = sorted({int(p) for s in _STARTS for p in (s - 1, s) if not 0xD800 <= p < 0xE000})
    texts = [f"a{chr(p)}b" for p in points]
    assert unigrams(texts) == [tokenize(t) for t in texts]


def test_train_says_which_scripts_and_warns_of_one_token_texts():
    from sentiment.cli.report import DataReport
    from sentiment.features.rules import CURRENT

    chinese = DataReport()
    chinese.sample = ["质量还挺好，还没开始用，希望耐用 ok"] * 20
    lines = chinese.scripts("zh.csv", CURRENT)
    assert lines == ["zh.csv: scripts: Han 88% (a token per character), Latin 12% (words)"]
    tibetan = DataReport()  # a script written without spaces that has no rule of its own
    tibetan.sample = ["ཀཁགངཅཆཇཉཏཐདནཔཕབམཙཚཛཝཞཟའཡརལཤསཧཨ"] * 20
    lines = tibetan.scripts("bo.csv", CURRENT)
    assert lines[0] == "bo.csv: scripts: other 100% (words)"
    assert "most texts are one token each" in lines[1]


def test_marks_stay_on_their_letter_in_every_implementation(loops):
    """Every code point of the scripts with marks, after a Thai letter and before a mark."""
    texts = [f"ก{chr(p)}\u0e48x" for p in list(range(0x0E00, 0x0F00)) + list(range(0x1000, 0x10A0))
             + list(range(0x1780, 0x1800))]
    assert unigrams(texts) == [tokenize(t) for t in texts]


def test_character_ngrams_are_shown_side_by_side():
    from sentiment.features.scripts import display

    assert display("推 荐") == "推荐" and display("ร่ อ ย") == "ร่อย"
    assert display("not good") == "not good" and display("很 good") == "很 good"


def test_a_nul_is_a_space_in_the_readable_tokenizer_too(loops):
    text = "great<br\x00/>film"
    assert tokenize(text) == ["great", "film"] == unigrams([text])[0]
