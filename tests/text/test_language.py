import pytest

from pipeline.text.language import detect_language


@pytest.mark.parametrize("text, expected", [
    ("배송이 너무 늦어요 ㅠㅠ", "ko"),
    ("갤럭시 S24 케이스 좋아요 good", "ko"),
    ("The delivery was late and the box was crushed", "en"),
    ("配送が遅いです", "ja"),
    ("快递太慢了", "zh"),
    ("👍👍", "und"),
    ("Доставка опоздала", "other"),
])
def test_language_by_script(text, expected):
    assert detect_language(text) == expected
