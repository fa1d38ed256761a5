"""Alert routing against a real HTTP receiver and a real SMTP server on loopback."""

from __future__ import annotations

import json
import logging
import socket
import threading
import unicodedata
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import text

from pipeline.config import DEFAULT_CONFIG, load_config
from pipeline.ingest.sources import SourceBatch
from pipeline.insights.alerts import AlertConfig, send_alerts
from pipeline.text.pii.masker import PiiMasker
from pipeline.warehouse.schema import connect, ensure_schema
from pipeline.warehouse.writes import replace_window, window_writes
from pipeline.window import Window
from tests.factories import pain_doc

DAY = date(2026, 10, 21)
WINDOW = Window(DAY, DAY)


class Receiver(ThreadingHTTPServer):
    """Records JSON posts; answers 500 to the first `failures` of them."""

    def __init__(self, failures: int = 0):
        self.posts: list[dict] = []
        self.failures = failures
        super().__init__(("127.0.0.1", 0), Handler)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server: Receiver = self.server  # type: ignore[assignment]
        if server.failures:
            server.failures -= 1
            self.send_response(500)
        else:
            server.posts.append(body)
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver(request):
    server = Receiver(failures=getattr(request, "param", 0))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def warehouse(tmp_path):
    engine = connect(f"duckdb:///{tmp_path / 'sori.duckdb'}")
    ensure_schema(engine)
    docs = [
        pain_doc("r1", DAY, "택배가 일주일째 안와요. 좋아요", categories=("delivery",), severity=5,
                 pain_probability=0.97),
        pain_doc("r2", DAY, "박스가 찌그러져서 왔어요", categories=("packaging", "delivery"), severity=4,
                 pain_probability=0.62),
        pain_doc("r3", DAY, "앱이 튕겨요", categories=("reliability",), severity=5, response_needed=True,
                 product="소리마켓 앱"),
        pain_doc("r4", DAY, "배송이 조금 늦었어요", categories=("delivery",), severity=2),
    ]
    writes = window_writes([SourceBatch("reviews")], docs, "run-1", "m", PiiMasker(), False)
    replace_window(engine, WINDOW, writes)
    return engine


def alert_config(receiver: Receiver, monkeypatch, **rule_overrides) -> AlertConfig:
    monkeypatch.setenv("TEST_WEBHOOK_URL", f"http://127.0.0.1:{receiver.server_address[1]}/hooks/secret-token")
    return AlertConfig.model_validate({
        "retries": 2, "backoff_s": 0.01,
        "channels": {"slack": {"type": "webhook", "url_env": "TEST_WEBHOOK_URL"}},
        "rules": [{"name": "delivery-severe", "send_to": "slack",
                   "when": {"categories": ["delivery", "packaging"], "min_severity": 4, **rule_overrides}}],
    })


def test_matching_pain_points_are_sent_once_with_action_plan_and_evidence(warehouse, receiver, monkeypatch):
    taxonomy = load_config(DEFAULT_CONFIG).load_taxonomy()
    config = alert_config(receiver, monkeypatch)
    assert send_alerts(warehouse, config, taxonomy, WINDOW, ["reviews"], "run-1") == {"delivery-severe": 2}
    assert len(receiver.posts) == 1
    message = receiver.posts[0]["text"]
    assert "택배가 일주일째 안와요." in message and "박스가 찌그러져서 왔어요" in message
    assert "앱이 튕겨요" not in message and "조금 늦었어요" not in message
    assert taxonomy.categories["delivery"].action in message

    assert send_alerts(warehouse, config, taxonomy, WINDOW, ["reviews"], "run-2") == {"delivery-severe": 0}
    assert len(receiver.posts) == 1, "no pain point may be alerted twice"


@pytest.mark.parametrize("dimension, key", [("category", "reliability"), ("product", "소리마켓 앱")])
def test_pain_points_of_a_rising_key_are_routed_by_the_rising_condition(warehouse, receiver, monkeypatch,
                                                                        dimension, key):
    # the detector's verdict for the day (pipeline.insights.emerging writes it)
    with warehouse.begin() as conn:
        conn.execute(text("INSERT INTO emerging_issues (day, dimension, key, count, expected, p_value, "
                          "score, flag, computed_at, trend_count, trend_expected, trend_p_value, rising) "
                          "VALUES (:day, :dimension, :key, 1, 0.4, 0.3, 0.5, false, now(), 30, 9.5, "
                          "0.00001, true)"), {"day": DAY, "dimension": dimension, "key": key})
    taxonomy = load_config(DEFAULT_CONFIG).load_taxonomy()
    config = alert_config(receiver, monkeypatch, categories=[], min_severity=1, rising=True)
    assert send_alerts(warehouse, config, taxonomy, WINDOW, ["reviews"], "run-1") == {"delivery-severe": 1}
    message = receiver.posts[0]["text"]
    assert "앱이 튕겨요" in message and "증가 추세" in message and "급증" not in message

    spikes = alert_config(receiver, monkeypatch, categories=[], min_severity=1, emerging=True)
    assert send_alerts(warehouse, spikes, taxonomy, WINDOW, ["reviews"], "run-2") == {"delivery-severe": 0}


def test_a_rule_can_ask_for_pain_points_the_head_is_sure_of(warehouse, receiver, monkeypatch):
    taxonomy = load_config(DEFAULT_CONFIG).load_taxonomy()
    config = alert_config(receiver, monkeypatch, min_pain_probability=0.9)
    assert send_alerts(warehouse, config, taxonomy, WINDOW, ["reviews"], "run-1") == {"delivery-severe": 1}
    assert "택배가 일주일째 안와요." in receiver.posts[0]["text"]
    unjudged = alert_config(receiver, monkeypatch, categories=["reliability"], min_pain_probability=0.1)
    assert send_alerts(warehouse, unjudged, taxonomy, WINDOW, ["reviews"], "run-2") == {"delivery-severe": 0}


def test_a_product_owner_hears_of_the_pain_about_their_product(warehouse, receiver, monkeypatch):
    taxonomy = load_config(DEFAULT_CONFIG).load_taxonomy()
    written_on_a_mac = unicodedata.normalize("NFD", "소리마켓  앱")
    config = alert_config(receiver, monkeypatch, categories=[], min_severity=1, products=[written_on_a_mac])
    assert send_alerts(warehouse, config, taxonomy, WINDOW, ["reviews"], "run-1") == {"delivery-severe": 1}
    assert "소리마켓 앱 심각도 5 · 답변 필요] 앱이 튕겨요" in receiver.posts[0]["text"]


def test_a_webhook_message_can_hold_no_link_or_mention(tmp_path, receiver, monkeypatch):
    engine = connect(f"duckdb:///{tmp_path / 'hostile.duckdb'}")
    ensure_schema(engine)
    hostile = "<!channel> <javascript:alert(1)|지금 클릭> & 배송이 안 와요"
    docs = [pain_doc("h1", DAY, hostile, categories=("delivery",), severity=5, product="<@U012AB3CD>")]
    replace_window(engine, WINDOW, window_writes([SourceBatch("reviews")], docs, "run-1", "m", PiiMasker(),
                                                 False))
    taxonomy = load_config(DEFAULT_CONFIG).load_taxonomy()
    assert send_alerts(engine, alert_config(receiver, monkeypatch), taxonomy, WINDOW, ["reviews"],
                       "run-1") == {"delivery-severe": 1}
    message = receiver.posts[0]["text"]
    assert "<" not in message and ">" not in message
    assert "&lt;!channel&gt; &lt;javascript:alert(1)|지금 클릭&gt; &amp; 배송이 안 와요" in message
    assert "&lt;@U012AB3CD&gt;" in message


def test_a_rule_naming_a_product_no_text_has_is_reported(warehouse, receiver, monkeypatch, caplog):
    taxonomy = load_config(DEFAULT_CONFIG).load_taxonomy()
    config = alert_config(receiver, monkeypatch, categories=[], products=["소리마켓앱", "소리마켓 앱"])
    with caplog.at_level(logging.WARNING, logger="sori.alerts"):
        send_alerts(warehouse, config, taxonomy, WINDOW, ["reviews"], "run-1")
    assert "names products no mined text has: 소리마켓앱" in caplog.text


@pytest.mark.parametrize("receiver", [2], indirect=True)
def test_a_failing_receiver_is_retried(warehouse, receiver, monkeypatch):
    config = alert_config(receiver, monkeypatch)
    taxonomy = load_config(DEFAULT_CONFIG).load_taxonomy()
    assert send_alerts(warehouse, config, taxonomy, WINDOW, ["reviews"], "run-1") == {"delivery-severe": 2}
    assert len(receiver.posts) == 1
    with warehouse.connect() as conn:
        assert set(conn.execute(text("SELECT status, attempts FROM alerts")).all()) == {("sent", 3)}


@pytest.mark.parametrize("receiver", [10], indirect=True)
def test_a_failed_delivery_is_recorded_and_tried_again_next_run(warehouse, receiver, monkeypatch, caplog):
    config = alert_config(receiver, monkeypatch)
    taxonomy = load_config(DEFAULT_CONFIG).load_taxonomy()
    assert send_alerts(warehouse, config, taxonomy, WINDOW, ["reviews"], "run-1") == {"delivery-severe": 0}
    with warehouse.connect() as conn:
        rows = conn.execute(text("SELECT status, attempts, error FROM alerts")).all()
    assert {(status, attempts) for status, attempts, _ in rows} == {("failed", 3)}
    assert all("HTTP 500" in error and "secret-token" not in error for _, _, error in rows)
    assert "secret-token" not in caplog.text
    receiver.failures = 0
    assert send_alerts(warehouse, config, taxonomy, WINDOW, ["reviews"], "run-2") == {"delivery-severe": 2}
    assert len(receiver.posts) == 1


def test_email_channel_delivers_through_smtp(warehouse):
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received = []

    class Collect(Message):
        def handle_message(self, message) -> None:
            received.append(message)

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        config = AlertConfig.model_validate({
            "channels": {"mail": {"type": "email", "smtp_host": "127.0.0.1", "smtp_port": controller.port,
                                  "sender": "sori@example.com", "recipients": ["cs@example.com"]}},
            "rules": [{"name": "answer-needed", "send_to": "mail", "when": {"response_needed": True}}],
        })
        taxonomy = load_config(DEFAULT_CONFIG).load_taxonomy()
        assert send_alerts(warehouse, config, taxonomy, WINDOW, ["reviews"], "run-1") == {"answer-needed": 1}
    finally:
        controller.stop()
    assert len(received) == 1
    assert received[0]["To"] == "cs@example.com"
    assert "앱이 튕겨요" in received[0].get_payload(decode=True).decode("utf-8")


def test_rules_must_name_known_channels():
    with pytest.raises(ValueError, match="unknown channel"):
        AlertConfig.model_validate({"rules": [{"name": "x", "send_to": "nowhere"}]})
