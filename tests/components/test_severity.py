from datetime import UTC, date, datetime

from pipeline.components.severity import severity_level, severity_score
from pipeline.document import Conversation, FeedbackItem, Sentence


def item(**kw):
    base = dict(source="s", kind="review", channel="review", source_id="1",
                created_at=datetime(2026, 10, 1, tzinfo=UTC), record_date=date(2026, 10, 1), text="")
    return FeedbackItem(**{**base, **kw})


def pain(text, p=0.9, categories=("delivery",)):
    return Sentence(index=0, start=0, end=len(text), text=text, p_negative=p, is_pain=True,
                    categories=list(categories))


def test_evidence_raises_severity():
    mild = severity_score(pain("포장이 조금 아쉬워요", p=0.6), item(rating=4), None)
    angry = severity_score(pain("최악이에요 소비자원에 신고할게요"), item(rating=1), None)
    assert mild < angry
    assert severity_level(mild) < severity_level(angry)


def test_chat_facts_count():
    denied = Conversation("c", "1", datetime(2026, 10, 1, tzinfo=UTC), date(2026, 10, 1), 8, 4, 5,
                          reached_human=False, minutes_to_first_human=None, asked_for_human=True)
    helped = Conversation("c", "2", datetime(2026, 10, 1, tzinfo=UTC), date(2026, 10, 1), 4, 2, 1,
                          reached_human=True, minutes_to_first_human=2.0, asked_for_human=False)
    sentence = pain("챗봇이 같은 말만 해요", categories=("over_automation",))
    assert severity_score(sentence, item(kind="chat"), denied) > severity_score(sentence, item(kind="chat"),
                                                                                helped)


def test_levels_cover_one_to_five():
    assert [severity_level(s) for s in (0.0, 0.25, 0.5, 0.75, 1.0)] == [1, 2, 3, 4, 5]
