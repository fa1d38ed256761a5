"""Whether a pain point asks the company for something: an answer, a refund, a call-back, a fix or a
change. A frontline team answers these first, so `response_needed` feeds severity and alert rules.

The labelling guide (docs/labelling-guide.md, "response_needed") is what this is measured against:
a request or a wish addressed to the company ("환불해 주세요", "다크모드 있으면 좋겠어요",
"기사님들 안전 교육부터 하세요"), or a question it can answer ("왜 로그인이 안 되나요?",
"어떻게 해야 하죠"). A complaint that only states the problem, a rhetorical question
("이게 정품 맞나요?", "장난하냐?") and advice to other customers are not. Rules match the
spacing-free text (`Sentence.compact`), because reviewers space "해 주세요" and "해주세요" alike;
they are written for Korean endings, not for one corpus.
"""

from __future__ import annotations

import re

from pipeline.document import Sentence
from pipeline.text.korean import compact

# "-아/어 주세요", "-아 주시면", "부탁드립니다", "바랍니다", "제발", "환불할게요". 부탁 as narration ("짐 보관
# 부탁하는 손님") does not count, nor 달라: reported ("다시 전화 달라더니") more often than asked, and 달라요
# is "it differs".
_REQUEST = (
    r"주세|주십시|주시[길면기겠]|주셨으면|주셨음|주실수|주실래|줬으면|주었으면|주면좋|해줘(?!야)|해주라"
    r"|부탁(?:드|합|해요|해용|함|요|$|[!.~])|바랍니|바래|바라요|바랄|요청드|제발"
    r"|(?:환불|교환|반품)(?:을|를|해|받)?(?:할게|하겠|받겠|요청|원합|원해)"
)
# "-지 마세요", "-지 말아 주세요": a demand to stop something.
_PROHIBITION = r"말아주|마세|지마|지말"
# "-면 좋겠어요", "-으면 합니다", "-었으면…" (an unfinished wish), "…이 필요할 것 같아요". A past
# conditional that goes on ("알았으면 안 갔을 텐데") is no wish.
_WISH = (
    r"면좋겠|면좋을|음좋겠|음좋을|면더좋|면정말좋|면너무좋|면더편|면편할|으면해|면하네|면합니|으면함"
    r"|(?:았|었|였|했|됐)으면(?:좋|해|하|함|합|[.~…ㅠㅜ]|$)|필요할것같|필요할거같|필요할듯"
)
# What the company should do or should have done: "-셔야 합니다" (the honorific -시- makes the seller
# its subject), "-했어야죠", "-해야지", "고치길", "신경 좀 써 주세요", "-하세요" ("불친절하세요" describes,
# it does not ask), "-면 안 되죠", "-어 주지" (why not: "미리 알려 주지…").
_OBLIGATION = (
    r"셔야|셨어야|[아어여해]야(?:죠|지|줘)|고쳐야|고쳐라|고치길|고치세|개선좀|수정좀|개선하세|개선시키세"
    r"|신경(?:좀|을|더)*(?:써|쓰)(?:주|셔|세|시길|야)|(?<!친절)하세요|(?<![으계이])(?<!친절하)세요[.!~ㅠㅜ]*$"
    r"|면안되|면안돼|주지(?:[.~ㅠㅜ]|$)"
)
_ASKS = re.compile("|".join((_REQUEST, _PROHIBITION, _WISH, _OBLIGATION)))
# Advice to other customers ("차라리 다른 데서 사세요", "후기 보고 구매하세요", "사지 마세요") and
# quoted words ('"벨 누르지 말아 주세요"라고 써 붙였는데') ask the company nothing: they are taken out
# before matching ("신경 좀 쓰세요" is no advice).
_SHOPPER_ADVICE = re.compile(
    r"(?<!신경)(?<!좀)(?:사|구매|구입|주문|예약|참고|이용|쓰|가|알고|생각하고|먹이)(?:하)?(?:지마|지말)?"
    r"(?:세요|세여|시길|십시오|시고)"
)
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|‘[^’]*’|“[^”]*”")

# A question: a question word with a question ending, "왜 … 건지" (why, asked indirectly), a question
# ending that closes the sentence, or "어떻게 하는지 모르겠어요" (how-to, asked as a statement).
_QUESTION = re.compile(
    r"(?:왜(?!냐)|어떻게|언제|어디|뭐가|무엇|어떤|몇)\S{0,20}?(?:나요|까요|가요|죠|지요|요\?|되나|하나|함\?|임\?|[?？])"
    r"|왜(?!냐)\S{0,20}?(?:ㄴ지|는지|건지|는거|는건|된건)(?=[.?？~…ㅠㅜㅋ;!]|$)"
    r"|(?:나요|까요)[?？~.!ㅠㅜ;]*$|ㄴ가요|는가요|나요\?|가요\?|습니까|입니까|요\?+$|함\?|임\?|는지(?:를)?모르"
)
# A question that only passes judgement: no answer is wanted.
_RHETORICAL = re.compile(
    r"아닌가|아닙니|아닌지|아님|맞나요|맞냐|맞습니까|실화|말이되|장난|뭐하자|뭐냐|냐\?|냐$|니\?|나\?$|ㅋ\?|이상한건"
)


def needs_response(sentence: Sentence) -> bool:
    text = _SHOPPER_ADVICE.sub(" ", _QUOTED.sub(" ", sentence.compact or compact(sentence.text)))
    if _ASKS.search(text):
        return True
    return bool(_QUESTION.search(text)) and not _RHETORICAL.search(text)
