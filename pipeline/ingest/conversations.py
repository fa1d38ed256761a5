"""Conversation facts that are evidence of pain whatever the customer wrote: bot turns before a
human, minutes to the first human reply, and whether the customer asked for a human."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime

from pipeline.document import Conversation

_ASKS_FOR_HUMAN = re.compile(
    r"(상담원|상담사|사람|직원|담당자|매니저)\s*(이랑|하고|과|와|한테|에게|이|을|를|좀|분)?\s*"
    r"(연결|바꿔|통화|얘기|이야기|대화|말하|상담)"
)


def asks_for_human(text: str) -> bool:
    return bool(_ASKS_FOR_HUMAN.search(text.replace(" ", "")) or _ASKS_FOR_HUMAN.search(text))


def summarise_conversation(
    source: str, conversation_id: str, record_date: date, turns: Sequence[tuple[datetime, str, str]]
) -> Conversation:
    """`turns` are (timestamp, speaker role, text) in time order."""
    first_human = next((i for i, (_, speaker, _) in enumerate(turns) if speaker == "agent"), None)
    before_human = turns if first_human is None else turns[:first_human]
    minutes_to_human = None
    if first_human is not None:
        first_customer = next((at for at, speaker, _ in turns if speaker == "customer"), turns[0][0])
        minutes_to_human = round((turns[first_human][0] - first_customer).total_seconds() / 60, 1)
    return Conversation(
        source=source,
        conversation_id=conversation_id,
        started_at=turns[0][0],
        record_date=record_date,
        turns=len(turns),
        customer_turns=sum(1 for _, speaker, _ in turns if speaker == "customer"),
        bot_turns_before_human=sum(1 for _, speaker, _ in before_human if speaker == "bot"),
        reached_human=first_human is not None,
        minutes_to_first_human=minutes_to_human,
        asked_for_human=any(speaker == "customer" and asks_for_human(text) for _, speaker, text in turns),
    )
