"""HttpReader against a real HTTP server on the loopback: the three pagination styles, auth, retries,
Retry-After, malformed records and pages, and a server that fails in the middle of a read."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest

from pipeline.config import HttpReaderConfig, SourceConfig
from pipeline.ingest.http_reader import MAX_WAIT_S, HttpReader, _retry_after
from pipeline.ingest.readers import SourceReadError
from pipeline.ingest.sources import open_source
from pipeline.window import Window

SEOUL = ZoneInfo("Asia/Seoul")
WINDOW = Window(date(2026, 10, 1), date(2026, 10, 2))
TOKEN = "tok-7f3a9c-SECRET"
REVIEWS = [
    {"id": f"r{n}", "created_at": f"2026-10-0{1 + n % 2}T1{n}:00:00+09:00", "rating": 1 + n % 5,
     "body": f"배송이 {n}일이나 걸렸어요"}
    for n in range(7)
]


@dataclass
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case


Response = tuple[int, dict[str, str], Any]


@dataclass
class Api:
    """What the test server answers: `respond` is set by each test; every request is recorded."""

    url: str
    respond: Callable[[Request], Response] = lambda request: (404, {}, {"error": "not set"})
    requests: list[Request] = field(default_factory=list)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        parts = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = Request(parts.path, dict(parse_qsl(parts.query)), headers)
        api: Api = self.server.api  # type: ignore[attr-defined]
        api.requests.append(request)
        status, headers, body = api.respond(request)
        payload = (body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json; charset=utf-8", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read the client's logs, not the server's."""


@pytest.fixture
def api() -> Iterator[Api]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.api = Api(f"http://127.0.0.1:{server.server_port}")  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.api  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def pages_of(records: list[Any], size: int = 3) -> Callable[[Request], Response]:
    """Page-number pagination with the records under data.items."""
    def respond(request: Request) -> Response:
        page = int(request.query.get("page", "1"))
        return 200, {}, {"data": {"items": records[(page - 1) * size:page * size]}}
    return respond


def http_config(api: Api, **overrides: Any) -> HttpReaderConfig:
    settings: dict[str, Any] = {"url": f"{api.url}/reviews", "records_path": "data.items",
                                "pagination": "page", "page_size_param": "per_page", "page_size": 3,
                                "start_param": "from", "end_param": "to", "backoff_s": 0.01,
                                "max_retries": 3, "timeout_s": 2}
    return HttpReaderConfig.model_validate({**settings, **overrides})


def review_source(config: HttpReaderConfig):
    return open_source(SourceConfig(name="reviews", kind="review", http=config, columns={
        "id": "id", "created_at": "created_at", "rating": "rating", "text": "body"}), SEOUL)


def test_page_numbers_carry_the_window_a_day_wider_and_end_on_an_empty_page(api):
    api.respond = pages_of(REVIEWS)
    read = list(HttpReader(http_config(api)).records(WINDOW, SEOUL))
    assert [r.fields for r in read] == REVIEWS
    assert read[3].location == f"{api.url}/reviews page 2 item 1"
    assert [r.query for r in api.requests] == [
        {"from": "2026-09-30", "to": "2026-10-03", "page": str(page), "per_page": "3"}
        for page in (1, 2, 3, 4)
    ]


def test_cursor_pagination_follows_the_cursor_in_the_body(api):
    def respond(request: Request) -> Response:
        start = int(request.query.get("after", "0"))
        following = str(start + 4) if start + 4 < len(REVIEWS) else None
        return 200, {}, {"results": REVIEWS[start:start + 4], "meta": {"next": following}}

    api.respond = respond
    config = http_config(api, pagination="cursor", records_path="results", cursor_param="after",
                         next_cursor_path="meta.next", since_param="updated_since")
    since = datetime(2026, 10, 5, 9, tzinfo=SEOUL)
    read = list(HttpReader(config).records(None, SEOUL, since=since))
    assert [r.fields["id"] for r in read] == [r["id"] for r in REVIEWS]
    assert [r.query for r in api.requests] == [
        {"updated_since": "2026-10-05T09:00:00+09:00"},
        {"updated_since": "2026-10-05T09:00:00+09:00", "after": "4"},
    ]


def test_link_headers_are_followed_absolute_or_relative(api):
    def respond(request: Request) -> Response:
        offset = int(request.query.get("offset", "0"))
        links = {0: f'<{api.url}/reviews?offset=3>; rel="next", <{api.url}/reviews?offset=6>; rel="last"',
                 3: '</reviews?offset=6>; rel="next"'}
        return 200, {"Link": links[offset]} if offset in links else {}, REVIEWS[offset:offset + 3]

    api.respond = respond
    config = http_config(api, pagination="link", records_path="", start_param=None, end_param=None)
    read = list(HttpReader(config).records(WINDOW, SEOUL))
    assert [r.fields["id"] for r in read] == [r["id"] for r in REVIEWS]
    assert [r.query for r in api.requests] == [{}, {"offset": "3"}, {"offset": "6"}]
    assert read[-1].location == f"{api.url}/reviews page 3 item 1"


def guarded(header: str, value: str, inner: Callable[[Request], Response]) -> Callable[[Request], Response]:
    def respond(request: Request) -> Response:
        if request.headers.get(header.lower()) != value:
            return 401, {}, {"error": "unauthorized"}
        return inner(request)
    return respond


@pytest.mark.parametrize(("auth", "header", "value"), [
    ("bearer", "Authorization", f"Bearer {TOKEN}"),
    ("api_key", "X-API-Key", TOKEN),
])
def test_the_token_comes_from_the_environment_and_is_never_shown(api, monkeypatch, caplog, auth, header,
                                                                 value):
    caplog.set_level(logging.DEBUG)
    api.respond = guarded(header, value, pages_of(REVIEWS))
    with pytest.raises(SourceReadError, match="HTTP 401") as without:
        list(HttpReader(http_config(api)).records(WINDOW, SEOUL))
    config = http_config(api, auth=auth, token_env="SORI_TEST_API_TOKEN")
    monkeypatch.setenv("SORI_TEST_API_TOKEN", TOKEN + "-wrong")
    with pytest.raises(SourceReadError, match="SORI_TEST_API_TOKEN") as wrong:
        list(HttpReader(config).records(WINDOW, SEOUL))
    monkeypatch.setenv("SORI_TEST_API_TOKEN", TOKEN)
    read = list(HttpReader(config).records(WINDOW, SEOUL))
    assert len(read) == len(REVIEWS)
    shown = [caplog.text, str(without.value), str(wrong.value), repr(wrong.value),
             *(r.location for r in read)]
    assert not any(TOKEN in text for text in shown)


def test_the_token_can_come_from_a_prefect_secret_block(api, monkeypatch):
    class FakeSecret:
        def __init__(self, name: str):
            self.name = name

        def get(self) -> str:
            if self.name != "review-api-token":
                raise ValueError(f"Unable to find block document named {self.name}")
            return TOKEN

    monkeypatch.setattr("prefect.blocks.system.Secret.load", FakeSecret)
    monkeypatch.delenv("SORI_TEST_API_TOKEN", raising=False)
    api.respond = guarded("Authorization", f"Bearer {TOKEN}", pages_of(REVIEWS))
    config = http_config(api, auth="bearer", token_env="SORI_TEST_API_TOKEN", token_secret="review-api-token")
    assert len(list(HttpReader(config).records(WINDOW, SEOUL))) == len(REVIEWS)
    config = http_config(api, auth="bearer", token_env="SORI_TEST_API_TOKEN", token_secret="other")
    with pytest.raises(SourceReadError, match="SORI_TEST_API_TOKEN.*'other'"):
        list(HttpReader(config).records(WINDOW, SEOUL))


def test_server_errors_and_timeouts_are_retried_then_succeed(api):
    failures = {"500": 2, "slow": 1}

    def respond(request: Request) -> Response:
        if failures["500"]:
            failures["500"] -= 1
            return 500, {}, {"error": "boom"}
        if failures["slow"]:
            failures["slow"] -= 1
            time.sleep(0.6)
        return pages_of(REVIEWS)(request)

    api.respond = respond
    read = list(HttpReader(http_config(api, timeout_s=0.2)).records(WINDOW, SEOUL))
    assert [r.fields for r in read] == REVIEWS
    assert [r.query["page"] for r in api.requests] == ["1", "1", "1", "1", "2", "3", "4"]


def test_retry_after_on_429_is_honoured(api):
    limited = {"once": True}

    def respond(request: Request) -> Response:
        if request.query["page"] == "2" and limited.pop("once", False):
            return 429, {"Retry-After": "1"}, {"error": "slow down"}
        return pages_of(REVIEWS)(request)

    api.respond = respond
    started = time.monotonic()
    read = list(HttpReader(http_config(api)).records(WINDOW, SEOUL))
    assert time.monotonic() - started >= 0.95
    assert len(read) == len(REVIEWS)


def test_retry_after_reads_http_dates_and_is_capped():
    in_five = format_datetime(datetime.now(UTC) + timedelta(seconds=5), usegmt=True)
    assert 3 < (_retry_after(in_five) or 0) <= 5
    assert _retry_after("86400") == MAX_WAIT_S
    assert _retry_after("soon") is None


def test_a_malformed_record_is_quarantined_and_the_rest_load(api):
    api.respond = pages_of([*REVIEWS[:2], "그냥 문자열", *REVIEWS[2:]])
    batch = review_source(http_config(api)).read(WINDOW)
    assert sorted(i.source_id for i in batch.items) == sorted(r["id"] for r in REVIEWS)
    [quarantined] = batch.quarantine
    assert quarantined.reason == "record is not a JSON object" and quarantined.raw == '"그냥 문자열"'
    assert quarantined.location == f"{api.url}/reviews page 1 item 3"
    assert batch.records_read == len(REVIEWS) + 1


def test_a_page_without_its_records_is_quarantined_and_ends_the_read(api):
    def respond(request: Request) -> Response:
        if request.query["page"] == "2":
            return 200, {}, {"data": {"error": "index rebuilding"}}
        return pages_of(REVIEWS)(request)

    api.respond = respond
    read = list(HttpReader(http_config(api)).records(WINDOW, SEOUL))
    assert [r.fields["id"] for r in read[:3]] == ["r0", "r1", "r2"]
    assert read[3].location == f"{api.url}/reviews page 2"
    assert read[3].error == "page has no list at records_path 'data.items'" and read[3].fields == {}
    assert len(read) == 4


def test_a_permanent_failure_mid_read_fails_the_source_and_a_rerun_reads_everything_once(api):
    broken = {"page 3": True}

    def respond(request: Request) -> Response:
        if request.query["page"] == "3" and broken["page 3"]:
            return 503, {}, {"error": "maintenance"}
        return pages_of(REVIEWS, size=2)(request)

    api.respond = respond
    source = review_source(http_config(api, page_size=2, max_retries=2))
    with pytest.raises(SourceReadError, match="page 3: gave up after 2 retries; last: HTTP 503"):
        source.read(WINDOW)
    broken["page 3"] = False
    batch = source.read(WINDOW)
    assert sorted(i.source_id for i in batch.items) == sorted(r["id"] for r in REVIEWS)
    assert not batch.quarantine


def test_a_refused_connection_fails_after_the_retries():
    config = HttpReaderConfig(url="http://127.0.0.1:9/reviews", max_retries=2, backoff_s=0.01)
    with pytest.raises(SourceReadError, match="gave up after 2 retries; last: ConnectError"):
        list(HttpReader(config).records(WINDOW, SEOUL))


def test_endless_pagination_is_stopped(api):
    api.respond = lambda request: (200, {}, {"items": [REVIEWS[0]], "next": "same"})
    config = http_config(api, pagination="cursor", records_path="items", next_cursor_path="next")
    with pytest.raises(SourceReadError, match="repeats"):
        list(HttpReader(config).records(WINDOW, SEOUL))
    api.respond = pages_of(REVIEWS * 10, size=1)
    with pytest.raises(SourceReadError, match="max_pages=5"):
        list(HttpReader(http_config(api, max_pages=5)).records(WINDOW, SEOUL))


def test_config_needs_exactly_one_transport():
    columns = {"id": "id", "created_at": "at", "text": "body"}
    with pytest.raises(ValueError, match="exactly one of `path`, `sql` or `http`"):
        SourceConfig(name="x", kind="review", path="a.csv", http={"url": "http://h/x"}, columns=columns)
    with pytest.raises(ValueError, match="exactly one of `path`, `sql` or `http`"):
        SourceConfig(name="x", kind="review", columns=columns)
    with pytest.raises(ValueError, match="token_env"):
        HttpReaderConfig(url="http://h/x", auth="bearer")
