import unicodedata

from pipeline.text.normalize import normalize_name, normalize_text


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
