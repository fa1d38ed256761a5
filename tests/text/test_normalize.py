import re
import sys
import unicodedata

import pytest

from pipeline.text.normalize import (
    escape_invisible,
    invisible_in,
    normalize_name,
    normalize_text,
    strip_invisible,
)


def test_nfkc_folds_full_width_digits_and_letters():
    assert normalize_text("０１０－１２３４ ＡＢＣ") == "010-1234 ABC"


def test_elongations_shrink_to_three_repeats():
    assert normalize_text("ㅋㅋㅋㅋㅋㅋㅋㅋ 좋아요!!!!!!!") == "ㅋㅋㅋ 좋아요!!!"
    assert normalize_text("ㅠㅠㅠㅠㅠ") == "ㅠㅠㅠ"
    assert normalize_text("ㅋㅎㅋㅎㅋㅎㅋㅎㅋㅎ") == "ㅋㅎㅋㅎㅋㅎ"


def test_whitespace_markup_and_control_characters():
    assert normalize_text("  배송\t\t너무\u3000늦어요 \r\n\r\n 별로 ") == "배송 너무 늦어요\n별로"
    assert normalize_text("<p>포장이&nbsp;엉망</p>\x00\x07") == "포장이 엉망"


def test_negations_and_meaning_survive():
    assert normalize_text("안 와요 못 받았어요") == "안 와요 못 받았어요"


def test_a_product_name_is_one_key_however_the_export_wrote_it():
    names = [unicodedata.normalize("NFD", "수제 포기김치 2kg"), "수제  포기김치\u200b 2kg ",
             "수제\u3000포기김치 ２ｋｇ"]
    assert {normalize_name(name) for name in names} == {"수제 포기김치 2kg"}


@pytest.mark.parametrize("payload", [
    "&lt;script&gt;alert(1)&lt;/script&gt;배송이 늦어요",
    "<script>alert(1)</script>배송이 늦어요",
    "&lt;img src=x onerror=alert(1)&gt;배송이 늦어요",
    "<img src=x onerror=alert(1)>배송이 늦어요",
    "<iframe src=javascript:alert(1)></iframe>배송이 늦어요",
    "&lt;iframe src=javascript:alert(1)&gt;&lt;/iframe&gt;배송이 늦어요",
    "&#60;svg/onload=alert(1)&#62;배송이 늦어요",
    "＜script＞alert(1)＜/script＞배송이 늦어요",
    "<scr<script>ipt>alert(1)</script>배송이 늦어요",
    "배송이 늦어요<img src=x onerror=alert(1)//",
    "배송이 늦어요<img src=x onerror=\"" + "a" * 300 + "\">",
    "<!--<script>-->배송이 늦어요",
])
def test_hostile_markup_comes_out_inert(payload):
    text = normalize_text(payload)
    assert "배송이 늦어요" in text
    assert not re.search(r"</?[a-zA-Z]", text), "nothing an HTML parser would open as a tag"


def test_entities_are_decoded_once():
    assert normalize_text("&amp;lt;b&amp;gt; 좋아요") == "&lt;b&gt; 좋아요"
    assert normalize_text("A&amp;S 문의 &quot;빨리&quot;") == 'A&S 문의 "빨리"'


def test_korean_brackets_and_emoticons_are_not_markup():
    assert normalize_text("<상품명> 정말 좋아요 <3 가격<품질") == "<상품명> 정말 좋아요 <3 가격<품질"


def test_markup_or_spaces_alone_normalise_to_nothing():
    assert normalize_text("<br><br>") == normalize_text("&nbsp;") == normalize_text("<p>&nbsp;</p>") == ""


def test_bidi_controls_zero_widths_and_lone_surrogates_are_removed():
    text = "환불\u202e해주세요\u2066 \u2067빨리\u2069\u061c \ud800요청\u00ad\ufeff"
    assert normalize_text(text) == "환불해주세요 빨리 요청"
    assert strip_invisible("탭\t줄\n바꿈\r\x00") == "탭\t줄\n바꿈\r"


def test_the_invisible_characters_are_every_control_format_surrogate_and_separator():
    wanted = {chr(c) for c in range(sys.maxunicode + 1)
              if unicodedata.category(chr(c)) in ("Cc", "Cf", "Cs", "Zl", "Zp")} - set("\t\n\r")
    found = {chr(c) for c in range(sys.maxunicode + 1) if strip_invisible(chr(c)) == ""}
    assert wanted <= found
    assert {unicodedata.category(c) for c in found - wanted} <= {"Cn"}, "newer Unicode format characters"


def test_a_key_with_an_invisible_character_is_told_and_escaped_visibly():
    assert invisible_in("R-1\x002") == "\x00" and invisible_in("R\t1") == "\t"
    assert invisible_in("리뷰-101") is None
    assert escape_invisible("x\x002\u202e") == "x\\x002\\u202e"
