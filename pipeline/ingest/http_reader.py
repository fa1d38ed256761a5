"""Records from a JSON HTTP API, page by page: page numbers, cursors or `Link: rel="next"` headers.

A transient failure (5xx, 429, timeout, dropped connection) is retried with exponential backoff; one
that outlasts the retries fails the source, so nothing is written for it and the next run reads the
same window again. A bad record or page is handed on as an unreadable record (`RawRecord.error`), for
the kind to quarantine. The token is sent only to the configured origin and never logged or put in a
message.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from pipeline.config import HttpReaderConfig
from pipeline.ingest.readers import RawRecord, SourceReadError
from pipeline.secrets import SecretNotFoundError, resolve_secret
from pipeline.window import Window

log = logging.getLogger(__name__)

MAX_WAIT_S = 120.0
"""Cap on one wait between attempts, whatever Retry-After or the backoff says: a nightly run must end."""


class HttpReader:
    """A paginated JSON API; the window and `since` travel as query parameters when configured."""

    def __init__(self, config: HttpReaderConfig, name: str = "http"):
        self.config = config
        self.name = name

    def records(
        self, window: Window | None, tz: ZoneInfo, since: datetime | None = None
    ) -> Iterator[RawRecord]:
        config = self.config
        headers = self._auth_headers()
        params = self._first_params(window, tz, since)
        url = config.url
        cursors: set[str] = set()
        with httpx.Client(timeout=config.timeout_s, follow_redirects=False) as client:
            for page in range(1, config.max_pages + 1):
                response = self._get(client, url, params, headers, page)
                items, body, listed = self._page_records(response, page)
                yield from items
                if config.pagination == "page":
                    if not listed or not items:  # past the end, or a page that cannot tell
                        return
                    params = {**params, config.page_param: page + 1}
                elif config.pagination == "cursor":
                    cursor = _dig(body, config.next_cursor_path or "") if body is not None else None
                    if cursor is None or cursor == "":
                        return
                    if str(cursor) in cursors:
                        raise SourceReadError(f"source {self.name!r}: {config.url} page {page}: the "
                                              f"next cursor repeats an earlier one: pagination would not end")
                    cursors.add(str(cursor))
                    params = {**params, config.cursor_param: str(cursor)}
                else:
                    next_link = response.links.get("next", {}).get("url")
                    if not next_link:
                        return
                    url, params = str(response.url.join(next_link)), {}
        raise SourceReadError(f"source {self.name!r}: {config.url} has more than max_pages="
                              f"{config.max_pages} pages: raise it if that is expected")

    def _auth_headers(self) -> dict[str, str]:
        config = self.config
        if config.auth == "none":
            return {}
        try:
            token = resolve_secret(config.token_env, config.token_secret)
        except SecretNotFoundError as exc:
            raise SourceReadError(f"source {self.name!r}: API token: {exc}") from None
        if config.auth == "bearer":
            return {"Authorization": f"Bearer {token}"}
        return {config.api_key_header: token}

    def _first_params(self, window: Window | None, tz: ZoneInfo, since: datetime | None) -> dict[str, Any]:
        """The window goes out a day wider on each side: an API that reads dates in another zone or
        takes an exclusive end still returns a superset, and the kind filters exactly."""
        config = self.config
        params: dict[str, Any] = {}
        if window is not None and config.start_param:
            params[config.start_param] = (window.start - timedelta(days=1)).isoformat()
        if window is not None and config.end_param:
            params[config.end_param] = (window.end + timedelta(days=1)).isoformat()
        if since is not None and config.since_param:
            params[config.since_param] = (since if since.tzinfo else since.replace(tzinfo=tz)).isoformat()
        elif since is not None:
            log.warning("source %r has no since_param: an incremental pull reads every record", self.name)
        if config.pagination == "page":
            params[config.page_param] = 1
            if config.page_size_param:
                params[config.page_size_param] = config.page_size
        return params

    def _get(self, client: httpx.Client, url: str, params: dict[str, Any], headers: dict[str, str],
             page: int) -> httpx.Response:
        """One page, retried on what may pass (5xx, 429, timeouts, dropped connections)."""
        config = self.config
        where = f"source {self.name!r}: {config.url} page {page}"
        # Merged here, not passed as `params`: httpx would drop a query the configured url carries.
        target = httpx.URL(url).copy_merge_params(params)
        same_origin = _origin(target) == _origin(httpx.URL(config.url))
        problem = ""
        for attempt in range(config.max_retries + 1):
            wait = config.backoff_s * 2**attempt
            try:
                response = client.get(target, headers=headers if same_origin else {})
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                status = response.status_code
                if status < 300:
                    return response
                problem = f"HTTP {status} {response.reason_phrase}"
                if status in (429, 503):
                    retry_after = _retry_after(response.headers.get("Retry-After"))
                    wait = wait if retry_after is None else retry_after
                elif status < 500:
                    raise SourceReadError(f"{where}: {problem}" + _hint(status, config))
            if attempt < config.max_retries:
                wait = min(wait, MAX_WAIT_S)
                log.warning("%s: %s; retry %d of %d in %.1f s", where, problem, attempt + 1,
                            config.max_retries, wait)
                time.sleep(wait)
        raise SourceReadError(f"{where}: gave up after {config.max_retries} retries; last: {problem}")

    def _page_records(self, response: httpx.Response, page: int) -> tuple[list[RawRecord], Any, bool]:
        """The page's records, its body, and whether it had its list; a page without one becomes a
        single unreadable record."""
        location = f"{self.config.url} page {page}"
        try:
            body = response.json()
        except ValueError:
            return [RawRecord.unreadable(location, "page is not JSON", response.text)], None, False
        items = _dig(body, self.config.records_path)
        if not isinstance(items, list):
            reason = f"page has no list at records_path {self.config.records_path!r}"
            return [RawRecord.unreadable(location, reason, json.dumps(body, ensure_ascii=False))], body, False
        records = [_item_record(f"{location} item {n}", item) for n, item in enumerate(items, start=1)]
        return records, body, True


def _item_record(location: str, item: Any) -> RawRecord:
    """One item of a page's list: a record when it is a JSON object, else an unreadable one."""
    if isinstance(item, dict):
        return RawRecord(location, item)
    return RawRecord.unreadable(location, "record is not a JSON object", json.dumps(item, ensure_ascii=False))


def _dig(body: Any, path: str) -> Any:
    """The value at a dotted path, or None where the path does not exist."""
    node = body
    for key in path.split(".") if path else []:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds or as an HTTP date, capped so that a server cannot stall the run."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_WAIT_S)


def _hint(status: int, config: HttpReaderConfig) -> str:
    if status in (401, 403):
        where = config.token_env or config.token_secret
        return f" (check the token named {where!r})" if where else " (the API wants `auth`)"
    if 300 <= status < 400:
        return ": set `url` to the address the API redirects to"
    return ""
