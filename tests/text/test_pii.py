"""PII masking on realistic Korean customer text: what must disappear, what must stay, idempotency."""

from __future__ import annotations

import json
import random

import pytest

from pipeline.text.pii.masker import KINDS, PLACEHOLDER_RE, PLACEHOLDERS, Masked, MaskSpan, PiiMasker, luhn_ok
from pipeline.text.pii.records import mask_raw_records

P = PLACEHOLDERS

# (text, raw personal values that must not survive, placeholders that must appear)
POSITIVE: list[tuple[str, list[str], list[str]]] = [
    # phones
    ("김민수고객님 010-1234-5678로 연락주세요", ["김민수", "010-1234-5678"], [P["name"], P["phone"]]),
    ("010 2345 6789 으로 문자 주세요", ["2345 6789"], [P["phone"]]),
    ("제번호는01023456789이요 빨리 연락좀", ["01023456789"], [P["phone"]]),
    ("010.3456.7890 연락바람", ["3456.7890"], [P["phone"]]),
    ("연락처 010 - 1234 - 5678 입니다", ["1234 - 5678"], [P["phone"]]),
    ("+82 10-9876-5432 로 전화주세요 해외임", ["9876-5432"], [P["phone"]]),
    ("+821098765432 해외에서 연락드림", ["1098765432"], [P["phone"]]),
    ("전화 031-123-4567 / 팩스 031-123-4568", ["123-4567", "123-4568"], [P["phone"]]),
    ("(02)555-1234 로 전화하세요", ["555-1234"], [P["phone"]]),
    ("070-1234-5678 인터넷전화로 받았어요", ["070-1234-5678"], [P["phone"]]),
    ("고객센터 1588-1234 너무 안받음ㅡㅡ", ["1588-1234"], [P["phone"]]),
    ("안심번호 0504-1234-5678 로 왔던데", ["0504-1234-5678"], [P["phone"]]),
    ("010-****-5678 로 마스킹 되어있던데 제 번호 맞나요", ["5678"], [P["phone"]]),
    ("전화 주세요 (010)1234-5678", ["1234-5678"], [P["phone"]]),
    # e-mail
    ("제 이메일은 abc.def@naver.com 이에요", ["abc.def@naver.com"], [P["email"]]),
    ("메일은minsu92@gmail.com이요", ["minsu92@gmail.com"], [P["email"]]),
    ("hong.gildong@company.co.kr로 견적서 부탁드려요", ["hong.gildong"], [P["email"]]),
    ("hello123골뱅이naver.com 으로 주세요", ["hello123"], [P["email"]]),
    ("이메일 test_01@naver 인데요 확인부탁", ["test_01"], [P["email"]]),
    # resident registration numbers
    ("주민번호 900101-1234567 적으라는게 말이됨?", ["900101-1234567"], [P["rrn"]]),
    ("9001011234567 이거 주민번호에요", ["9001011234567"], [P["rrn"]]),
    ("외국인등록번호 850315-5123456 입력했는데 오류나요", ["850315-5123456"], [P["rrn"]]),
    ("주민번호를 9001011****** 이렇게 적었어요", ["9001011"], [P["rrn"]]),
    ("주민등록번호 앞자리 900101 뒷자리 1234567 맞게 넣었는데", ["900101", "1234567"], [P["rrn"]]),
    # cards
    ("카드 1234 5678 9012 3456 결제 오류", ["1234 5678 9012 3456", "9012"], [P["card"]]),
    ("카드 4111-1111-1111-1111 로 결제했는데 두번 빠짐", ["4111-1111"], [P["card"]]),
    ("카드번호 1234-****-****-3456 맞나요?", ["1234-****"], [P["card"]]),
    ("4111111111111111 로 결제했어요", ["4111111111111111"], [P["card"]]),
    ("카드번호 378282246310005 아멕스인데 안돼요", ["378282246310005"], [P["card"]]),
    # accounts
    ("환불은 신한 110-123-456789 로 해주세요", ["110-123-456789"], [P["account"]]),
    ("카카오뱅크 3333-01-1234567 입금했어요", ["3333-01-1234567"], [P["account"]]),
    ("국민은행 123456-78-901234 예금주 본인", ["123456-78-901234"], [P["account"]]),
    ("농협 302-1234-5678-91 로 환불 부탁드립니다", ["302-1234-5678-91"], [P["account"]]),
    ("하나은행 123-456789-12345 로 보내주세요", ["456789-12345"], [P["account"]]),
    ("기업은행 123-456789-01-234 입니다", ["456789-01-234"], [P["account"]]),
    ("토스 1000-1234-5678 환불 부탁", ["1000-1234-5678"], [P["account"]]),
    ("신한 110123456789 입금 부탁해요", ["110123456789"], [P["account"]]),
    ("계좌 1002123456789 로 환불해주세요", ["1002123456789"], [P["account"]]),
    ("환불 계좌 농협 352 1234 5678 93", ["352 1234 5678 93"], [P["account"]]),
    # addresses: road name and district stay, numbers go
    ("배송지 서울시 강남구 테헤란로 123 101동 202호요", ["123", "101동", "202호"], [P["address"]]),
    ("강남구 역삼동 123-45 으로 보내주세요", ["123-45"], [P["address"]]),
    ("부산시 해운대구 해운대로 570 A동 1501호 입니다", ["570", "1501"], [P["address"]]),
    ("강남대로94길 15 2층 입니다", ["길 15"], [P["address"]]),
    ("경기 고양시 일산동구 중앙로 1275번길 38-10 으로요", ["38-10"], [P["address"]]),
    ("대전 유성구 봉명동 123-4번지 에요", ["123-4"], [P["address"]]),
    ("아파트 101동 1203호 경비실에 맡겨주세요", ["101동", "1203호"], [P["address"]]),
    ("1101호로 배달해주세요", ["1101"], [P["address"]]),
    ("집 주소 서울 송파구 올림픽로 300 롯데월드타워", ["300"], [P["address"]]),
    ("경기도 성남시 분당구 판교역로 235 에이치스퀘어 N동 8층", ["235"], [P["address"]]),
    # names: before titles/honorifics, in self-introductions and after labels
    ("황경수, 01050532675", ["황경수", "01050532675"], [P["name"], P["phone"]]),
    ("박서준/010-1111-2222", ["박서준", "010-1111-2222"], [P["name"], P["phone"]]),
    ("이서연 hong@example.com 으로 보내주세요", ["이서연", "hong@example.com"], [P["name"], P["email"]]),
    ("박지영 상담원님 너무 친절하셨어요", ["박지영"], [P["name"]]),
    ("오지은고객님 주문하신 상품 출고되었습니다", ["오지은"], [P["name"]]),
    ("이수진상담사님 덕분에 해결됐어요", ["이수진"], [P["name"]]),
    ("남궁민수 과장님께 전달 부탁드립니다", ["남궁민수"], [P["name"]]),
    ("강민지님 답변 감사합니다", ["강민지"], [P["name"]]),
    ("윤서연 매니저님 최고에요", ["윤서연"], [P["name"]]),
    ("최지훈매니저 응대 최고", ["최지훈"], [P["name"]]),
    ("정우성팀장님 감사해요", ["정우성"], [P["name"]]),
    ("김철수씨가 전화줬어요", ["김철수"], [P["name"]]),
    ("이서연 씨 맞으시죠?", ["이서연"], [P["name"]]),
    ("한지민 대표님 답변 기다립니다", ["한지민"], [P["name"]]),
    ("이민호 기사님이 친절했어요 010-2222-3333", ["이민호", "2222-3333"], [P["name"], P["phone"]]),
    ("민수님 감사합니다", ["민수"], [P["name"]]),
    ("제 이름은 김민수입니다", ["김민수"], [P["name"]]),
    ("안녕하세요 상담사 이수민입니다 무엇을 도와드릴까요", ["이수민"], [P["name"]]),
    ("저는 박서준입니다 주문 취소 해주세요", ["박서준"], [P["name"]]),
    ("안녕하세요 김하늘이에요 문의드려요", ["김하늘"], [P["name"]]),
    ("성함은 이도윤입니다", ["이도윤"], [P["name"]]),
    ("예금주 홍길동으로 해주세요", ["홍길동"], [P["name"]]),
    ("ㅎㅇ 제 번호 010-9999-8888 이고 이름은 이영희요", ["이영희", "9999-8888"], [P["name"], P["phone"]]),
    ("이름 : 박서준 / 연락처 : 010-1111-2222", ["박서준", "1111-2222"], [P["name"], P["phone"]]),
    ("수령인 최유나 010 5555 6666 문앞에 놔주세요", ["최유나", "5555 6666"], [P["name"], P["phone"]]),
    # Kiwi reads these names as common-noun pieces (이하늘 → 이/하늘, 오영진 → 오/영/진)
    ("이하늘 매니저님 감사합니다", ["이하늘"], [P["name"]]),
    ("오영진 과장님 연락 부탁드려요", ["오영진"], [P["name"]]),
    # phone numbers read out in number words, alone or mixed with digits
    ("공일공-육삼이일-팔팔사칠로 연락주세요", ["육삼이일", "팔팔사칠"], [P["phone"]]),
    ("번호는 공일공 육삼이일 팔팔사칠이에요 문자 주세요", ["육삼이일", "팔팔사칠"], [P["phone"]]),
    ("영일공 칠칠팔팔 구구공공 으로 문자 부탁드려요", ["칠칠팔팔", "구구공공"], [P["phone"]]),
    ("공일공육삼이일팔팔사칠 이사 가서 번호 바꿨어요", ["공일공육삼이일팔팔사칠"], [P["phone"]]),
    ("010-육삼이일-팔팔사칠 이요", ["육삼이일-팔팔사칠"], [P["phone"]]),
    ("공일공 6321 8847 로 전화주세요", ["6321 8847"], [P["phone"]]),
    ("사무실은 공이 삼사오 육칠팔구 입니다", ["삼사오 육칠팔구"], [P["phone"]]),
    ("공 일 공 육 삼 이 일 팔 팔 사 칠 로 연락주세요", ["팔 팔 사 칠"], [P["phone"]]),
    # phone numbers as digits written apart
    ("0 1 0 2 6 7 3 9 9 0 1 로 연락주세요", ["2 6 7 3 9 9 0 1"], [P["phone"]]),
    ("연락처 0 1 0 - 2 6 7 3 - 9 9 0 1 입니다", ["9 9 0 1"], [P["phone"]]),
    ("010 2 6 7 3 9 9 0 1 문자 주세요", ["2 6 7 3 9 9 0 1"], [P["phone"]]),
    ("0 2 5 5 5 1 2 3 4 사무실로 전화", ["5 5 5 1 2 3 4"], [P["phone"]]),
    ("번호가 0.1.0.2.6.7.3.9.9.0.1 이래요", ["2.6.7.3.9.9.0.1"], [P["phone"]]),
    # car plates
    ("12가 3456 차량이 주차장 입구를 막고 있어요", ["12가 3456"], [P["plate"]]),
    ("123허4567 렌터카 반납했는데 보증금이 안 들어와요", ["123허4567"], [P["plate"]]),
    ("기사님 차량번호 34나 5678 맞나요?", ["34나 5678"], [P["plate"]]),
    ("배달 오토바이가 아니라 56보7890 승용차였어요", ["56보7890"], [P["plate"]]),
    ("12가3456번 차량 신고합니다", ["12가3456"], [P["plate"]]),
    ("택시 72하 4121 기사님이 불친절했어요", ["72하 4121"], [P["plate"]]),
    # a building's wing / floor / unit after its name
    ("에이치스퀘어 N동 7층으로 보내주세요", ["N동 7층"], [P["address"]]),
    ("판교테크노밸리 A동 3층 301호 입니다", ["A동 3층", "301호"], [P["address"]]),
    ("한빛빌딩 3층 301호로 배송 부탁드려요", ["3층 301호"], [P["address"]]),
    ("래미안아파트 101동 7층이요 엘리베이터 앞에 두세요", ["101동 7층"], [P["address"]]),
    ("회사가 강남파이낸스센터 B동 지하 1층이에요", ["B동 지하 1층"], [P["address"]]),
    ("배송지 A동 3층 관리실로 해주세요", ["A동 3층"], [P["address"]]),
    # later mentions of a name found in the same text, bare or with a particle
    ("김민수 고객님 전화 주셨는데 민수가 다시 전화했어요", ["민수"], [P["name"]]),
    ("박지훈 상담원님 친절했어요. 지훈이는 최고예요", ["지훈"], [P["name"]]),
    ("홍길동 고객님 주문 건인데 홍길동이 직접 받는대요", ["홍길동"], [P["name"]]),
    ("제 이름은 이서연입니다. 서연이 주문한 거 취소해주세요", ["서연"], [P["name"]]),
    ("남궁민수 과장님께 전달했는데 민수한테 답이 없어요", ["민수"], [P["name"]]),
    ("최유나 고객님 문의입니다 최유나 010-1234-5678", ["최유나", "1234-5678"], [P["name"], P["phone"]]),
    # URLs: plain link kept, personal query string masked
    (
        "https://shop.com/order?token=abc123def456ghi789&uid=55 링크 눌렀는데 안돼요",
        ["abc123def456ghi789"],
        [P["url"]],
    ),
    ("https://m.site.com/mypage?email=abc@naver.com&tab=1 접속불가", ["abc@naver.com"], [P["url"]]),
]

# Exact outputs for the cases the masking contract is described with.
EXACT: list[tuple[str, str]] = [
    ("김민수고객님 010-1234-5678로 연락주세요", "[이름]고객님 [전화번호]로 연락주세요"),
    # words before contact details that are not names stay
    ("배송지 변경, 01050532675로 연락주세요", "배송지 변경, [전화번호]로 연락주세요"),
    ("감사합니다, 01050532675", "감사합니다, [전화번호]"),
    ("고객센터 02-123-4567", "고객센터 [전화번호]"),
    ("배송지 서울시 강남구 테헤란로 123 101동 202호요", "배송지 서울시 강남구 테헤란로 [주소]요"),
    ("테헤란로 123", "테헤란로 [주소]"),
    ("101동 202호", "[주소]"),
    ("강남구 역삼동 123-45", "강남구 역삼동 [주소]"),
    ("환불은 신한 110-123-456789 로 해주세요", "환불은 신한 [계좌번호] 로 해주세요"),
    ("카드 1234 5678 9012 3456 결제 오류", "카드 [카드번호] 결제 오류"),
    ("제 이메일은 abc.def@naver.com 이에요", "제 이메일은 [이메일] 이에요"),
    ("주민번호 900101-1234567 적으라는게 말이됨?", "주민번호 [주민번호] 적으라는게 말이됨?"),
    ("박지영 상담원님 너무 친절하셨어요", "[이름] 상담원님 너무 친절하셨어요"),
    ("https://shop.com/a?token=abc123def456ghi789 안열려요", "https://shop.com/a?[URL] 안열려요"),
    # a number word right after a phone number is a word, not its last digit
    ("전화번호 : 031-123-4567 이곳입니다", "전화번호 : [전화번호] 이곳입니다"),
    ("번호는 공일공 육삼이일 팔팔사칠이 맞아요", "번호는 [전화번호]이 맞아요"),
    ("12가 3456번 차량", "[차량번호]번 차량"),
    ("판교역로 235 에이치스퀘어 N동 8층", "판교역로 [주소] 에이치스퀘어 [주소]"),
    # a given name that is also a word is a mention only as the full name; words built on it stay
    ("이하늘 매니저님 감사해요 오늘 하늘이 맑네요", "[이름] 매니저님 감사해요 오늘 하늘이 맑네요"),
    ("김민수 고객님 민수용 발전기 문의드려요", "[이름] 고객님 민수용 발전기 문의드려요"),
    ("홍길동 고객님 길동무 찾아요", "[이름] 고객님 길동무 찾아요"),
    # width is folded before masking, whoever calls; compatibility jamo stay as they are
    ("０１０－３３８４－７７２１로 연락주세요", "[전화번호]로 연락주세요"),
    ("ㅋㅋ 주문했어요 ０１０ ３３８４ ７７２１", "ㅋㅋ 주문했어요 [전화번호]"),
]

# Nothing personal here: prices, dates, times, order/tracking numbers, quantities, models, titles alone.
NEGATIVE: list[str] = [
    "기사님이 친절해요",
    "상담원 연결해주세요",
    "고객님 불편을 드려 죄송합니다",
    "배송기사님이 물건을 던지고 가셨어요",
    "택배기사님 너무 불친절함",
    "상담원님 감사합니다",
    "매니저님이 환불해준다고 했는데 소식없음",
    "선생님 감사합니다",
    "사장님이 친절하세요",
    "기사님 오늘 오시나요",
    "우체국 기사님 늦게 오심",
    "한진 기사님 늦게 오심",
    "쿠팡 고객님 안내문 받았어요",
    "유선 상담원 연결이 안돼요",
    "최악 상담원 만남",
    "정시 배송 기사님 감사",
    "과장광고네요",
    "대리 기사님 불렀어요",
    "대표 번호로 전화했는데 안받음",
    "예금주 본인 맞아요",
    "수령인 정보 변경하고 싶어요",
    "성함 확인 부탁드립니다",
    "고객님 성함이 어떻게 되시나요",
    "고객님 주문하신 상품이 품절입니다",
    "이건 불량입니다",
    "정상이에요 문제없어요",
    "다음주 화요일입니다",
    "이마트입니다 고객님",
    "12,900원에 샀는데 3만원 쿠폰 적용 안됨",
    "배송비 3,000원 무료배송 50,000원 이상",
    "가격이 1,234,567원 이라니",
    "2026-10-21 배송 예정, 2026.10.21 14:30 도착",
    "2026년 10월 21일 배송",
    "3시 30분에 10:30 도착예정이래요",
    "주문번호 20261021-000123 확인 부탁",
    "주문번호: 2026102112345678 입니다",
    "택배 송장번호 123456789012 조회가 안돼요",
    "운송장 6789-1234-5678 맞나요",
    "입금했는데 20231021123456 거래내역 확인좀",
    "쿠폰번호 ABCD-1234-EFGH 안돼요",
    "갤럭시 S24 울트라 20% 할인",
    "S24 256GB 아이폰15 프로 50% 할인",
    "모델명 SM-S928N 색상 블랙",
    "사이즈 270mm 발볼 넓어요",
    "총 3개 중 2개 불량",
    "택배로 2개 받았어요",
    "택배로 10개 받았는데 5개 깨짐",
    "감동 100% 입니다",
    "100-200개 정도 주문",
    "1850-1900년대 스타일",
    "1600-2000원 정도",
    "2호선 타고 3호선 갈아타기",
    "10호 화분 배송 문의",
    "사업자번호 123-45-67890",
    "https://www.coupang.com/vp/products/123456 이거 샀어요",
    "www.naver.com 에서 봤어요",
    "유통기한 2026.12.31 까지",
    "상담원: 안녕하세요 고객님",
    "김치찌개 맛있어요 #맛집 @친구",
    "감사합니다 수고하세요",
    # shapes that real reviews produced as false positives while tuning
    "콜센터(남자상담원)한테 물어봤어요",
    "원어민 필리피노 선생님이 친절해요",
    "앱이 계속 로딩중이에요",
    "가계부 앱 중에 원탑입니다",
    "여성손님 전용 객실이래요",
    "김과장님한테 물어보세요",
    "서초구청장님께 민원 넣었어요",
    "숙소가 을지로3가역 바로 앞이에요",
    "맛집 1번지 인정합니다",
    "원작 그대로 2편도 나왔으면",
    "공고 제2024-15호 참고하세요",
    "지원금 5,000만원 받았대요",
    "국민신문고 신청번호 1AA-2401-123456 처리 언제돼요",
    "이벤트 링크 https://event.example.com/a_20240101_1517386117008 참고",
    # number words and digit runs that are not phone numbers
    "일이삼사오육칠팔구십 세어보세요",
    "점수 0 1 2 3 4 5 6 7 8 9 10 중에 10점 줬어요",
    "3 4 5 번 문항이 어려웠어요",
    "공사 일정이 삼사일 늦어졌어요 이사 날짜 조정 부탁",
    "버전 3.4.5 에서 2.0.1 로 업데이트했더니 튕겨요",
    "2024. 01. 02 10:30 주문했는데 03. 15 도착",
    "공일공 팀이랑 영일만 다녀왔어요",
    # shapes near a car plate
    "12가지 3456원짜리 메뉴",
    "주식 50주 1000원에 샀어요",
    "논문 BFL 제77호 2016. 참고",
    "15조 2000억 투자 발표",
    "100호 2024년 계획서",
    "갤럭시 S23 1234개 팔렸대요",
    "대법원 1997.4.11. 선고 96도2753 판결 참고하세요",
    # floors alone, hotel rooms and wings without a building's name
    "롯데월드타워 118층 전망대 최고예요",
    "롯데호텔 7층 702호 묵었는데 뷰 좋아요",
    "신관 7층 702호 객실 깨끗해요",
    "스타벅스 2층 자리 넓어요",
    "A동 3층 수영장 좋아요",
    "7층 건물 전체가 매장이에요",
    # a given name with no full name found in the same text
    "민수가 왔어요",
    "지훈이는 최고예요",
]


@pytest.fixture(scope="module")
def masker(kiwi) -> PiiMasker:
    return PiiMasker(kiwi=kiwi)


def test_table_is_big_enough():
    assert len(POSITIVE) >= 60
    assert len(NEGATIVE) >= 30


@pytest.mark.parametrize(("text", "raws", "placeholders"), POSITIVE, ids=[p[0][:24] for p in POSITIVE])
def test_personal_values_are_masked(masker, text, raws, placeholders):
    out = masker.mask(text)
    for raw in raws:
        assert raw in text, "test data: the raw value must occur in the input"
        assert raw not in out.text, f"{raw!r} survived: {out.text!r}"
    for ph in placeholders:
        assert ph in out.text, f"{ph} missing: {out.text!r}"
    assert out.spans


@pytest.mark.parametrize(("text", "expected"), EXACT)
def test_exact_outputs(masker, text, expected):
    assert masker.mask(text).text == expected


@pytest.mark.parametrize("text", NEGATIVE)
def test_nothing_personal_is_left_alone(masker, text):
    out = masker.mask(text)
    assert out.text == text, [(s.kind, text[s.start : s.end]) for s in out.spans]
    assert out.spans == []


def _corpus() -> list[str]:
    return [p[0] for p in POSITIVE] + NEGATIVE + [e[0] for e in EXACT]


def test_masking_is_idempotent(masker):
    """Property: masking already-masked text changes nothing, also for sentences glued together."""
    rng = random.Random(20261021)
    corpus = _corpus()
    glue = [" ", "", ". ", "\n", ", "]
    texts = corpus + [rng.choice(glue).join(rng.sample(corpus, rng.randint(2, 3))) for _ in range(150)]
    once = masker.mask_many(texts)
    twice = masker.mask_many([m.text for m in once])
    for first, second in zip(once, twice, strict=True):
        assert second.text == first.text
        assert second.spans == []


def test_spans_point_into_the_original_text(masker):
    texts = _corpus()
    for text, out in zip(texts, masker.mask_many(texts), strict=True):
        rebuilt, pos = [], 0
        for span in out.spans:
            assert pos <= span.start < span.end <= len(text)
            assert not PLACEHOLDER_RE.search(text[span.start : span.end])
            rebuilt += [text[pos : span.start], PLACEHOLDERS[span.kind]]
            pos = span.end
        rebuilt.append(text[pos:])
        assert "".join(rebuilt) == out.text


def test_mask_many_matches_mask(masker):
    texts = _corpus()[:40] + ["", "   "]
    assert [m.text for m in masker.mask_many(texts)] == [masker.mask(t).text for t in texts]


def test_spans_and_kinds(masker):
    text = "김민수고객님 010-1234-5678로 연락주세요"
    out = masker.mask(text)
    assert out.spans == [MaskSpan("name", 0, 3), MaskSpan("phone", 7, 20)]
    assert out.kinds == ["name", "phone"]
    assert Masked("x", []).kinds == []


def test_existing_placeholders_are_never_remasked(masker):
    text = "[이름]님 [전화번호]로 연락 [이름] 고객님 [주소]동 [계좌번호] 12345678901"
    assert masker.mask(text).text == text


def test_kinds_select_detectors(kiwi):
    text = "김민수고객님 010-1234-5678, abc@naver.com"
    phone_only = PiiMasker(kinds=["phone"])  # no Kiwi needed without names/addresses
    assert phone_only.mask(text).text == "김민수고객님 [전화번호], abc@naver.com"
    no_names = PiiMasker(kiwi=kiwi, kinds=[k for k in KINDS if k != "name"])
    assert no_names.mask(text).text == "김민수고객님 [전화번호], [이메일]"
    with pytest.raises(ValueError):
        PiiMasker(kinds=["passport"])


def test_overlaps_resolve_to_longest_span(masker):
    # the phone inside the URL query loses to the whole query; the e-mail beats its digits
    out = masker.mask("https://x.kr/a?tel=01012345678&token=zz 그리고 01012345678@naver.com")
    assert [s.kind for s in out.spans] == ["url", "email"]


def test_placeholders_are_stable():
    assert PLACEHOLDERS == {
        "phone": "[전화번호]",
        "email": "[이메일]",
        "rrn": "[주민번호]",
        "card": "[카드번호]",
        "account": "[계좌번호]",
        "plate": "[차량번호]",
        "address": "[주소]",
        "name": "[이름]",
        "url": "[URL]",
    }
    assert set(KINDS) == set(PLACEHOLDERS)


def test_width_is_folded_before_masking(masker):
    """Spans point into the folded text, which is what the masked text is built from."""
    out = masker.mask("연락처 ０１０－３３８４－７７２１")
    assert out.text == "연락처 [전화번호]"
    assert out.spans == [MaskSpan("phone", 4, 17)]


def test_luhn():
    assert luhn_ok("4111111111111111")
    assert luhn_ok("378282246310005")
    assert not luhn_ok("1234567890123456")


def test_a_name_found_in_one_text_is_not_masked_in_another(masker):
    out = masker.mask_many(["김민수 고객님 감사합니다", "민수가 왔어요"])
    assert [m.text for m in out] == ["[이름] 고객님 감사합니다", "민수가 왔어요"]


def test_known_names_are_masked_wherever_mentioned(masker):
    out = masker.mask("배송이 늦어요 민수가 주문했는데 김민수 앞으로 왔어요", known_names=["김민수"])
    assert out.text == "배송이 늦어요 [이름]가 주문했는데 [이름] 앞으로 왔어요"
    with pytest.raises(ValueError):
        masker.mask_many(["a", "b"], known_names=[["김민수"]])


# Quarantined records: every column, mapped or not (see pipeline/text/pii/records.py).
RECORDS: list[tuple[str, str, list[str]]] = [
    # (raw record, reason, raw values that must not survive in the masked record or reason)
    ('{"id": "r1", "date": "2026-13-45", "text": "배송 늦음 민수가 주문함", "author": "김민수"}',
     "unparseable date", ["김민수", "민수"]),
    ('{"id": "r2", "text": "좋아요", "memo": "박서준", "phone": 1026739901, "product_name": "홍삼정"}',
     "missing date", ["박서준", "1026739901"]),
    ('{"id": "r3", "text": "연락처 ０１０－３３８４－７７２１ 주세요", "작성자": "이서연"}',
     "missing date", ["３３８４", "3384", "이서연"]),
    ('{"id": "r4", "speaker": "최유나", "text": "안녕하세요"}', "unknown speaker '최유나'", ["최유나"]),
    ('{"id": "r5", "text": "제 이름은 김하늘입니다", "note": "김하늘 앞으로", "addr": "강남구 테헤란로 123"}',
     "missing date", ["김하늘", "테헤란로"]),
    ('{"id": "r7", "user": {"name": "정우성", "tel": "01026739901"}, '
     '"text": "우성이 주문", "tags": ["박지민"]}', "missing date", ["정우성", "우성", "2673", "박지민"]),
    ("r6,2026-10-17,5,좋아요,김민수,010 2673 9901", "truncated row", ["김민수", "2673"]),
]


@pytest.mark.parametrize(("raw", "reason", "raws"), RECORDS, ids=[r[0][:20] for r in RECORDS])
def test_every_column_of_a_quarantined_record_is_masked(masker, raw, reason, raws):
    ((masked, masked_reason),) = mask_raw_records(masker, [raw], [reason])
    for value in raws:
        assert value not in masked and value not in masked_reason, (masked, masked_reason)


def test_record_masking_keeps_what_is_not_personal(masker):
    raws = ['{"id": "r2", "text": "좋아요", "rating": 5, "product_name": "홍삼정", "tags": ["배송"]}',
            '{"id": "r5", "note": "하늘색 말고 김하늘 앞으로", "who": "김하늘"}']
    (plain, _), (named, _) = mask_raw_records(masker, raws, ["missing date", "missing date"])
    assert json.loads(plain) == {"id": "r2", "text": "좋아요", "rating": 5, "product_name": "홍삼정",
                                 "tags": ["배송"]}
    assert json.loads(named) == {"id": "r5", "note": "하늘색 말고 [이름] 앞으로", "who": "[이름]"}
    with pytest.raises(ValueError):
        mask_raw_records(masker, raws, ["one reason"])
