"""What the artifacts publish: string cells as literal text, links only to http(s)."""

from __future__ import annotations

import pytest

from flows import artifacts
from flows.artifacts import literal_rows, publish_link


@pytest.fixture
def published(monkeypatch) -> list[tuple[str, dict]]:
    calls: list[tuple[str, dict]] = []
    monkeypatch.setattr(artifacts, "create_link_artifact", lambda **kw: calls.append(("link", kw)))
    monkeypatch.setattr(artifacts, "create_markdown_artifact", lambda **kw: calls.append(("markdown", kw)))
    return calls


@pytest.mark.parametrize("url", ["javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,<script>",
                                 "file:///srv/sori/reports/sori-run.html", "vbscript:msgbox",
                                 "//evil.example", "reports/sori-run.html", "https:///no-host"])
def test_only_http_links_are_published_as_links(published, url):
    publish_link("sori-html-report", url, "report_[1].html", "the report")
    ((kind, call),) = published
    assert kind == "markdown" and "link" not in call
    assert call["markdown"].startswith("report\\_\\[1\\].html: ")


@pytest.mark.parametrize("url", ["https://reports.example.com/sori/run.html", "HTTP://127.0.0.1:8080/r.html"])
def test_a_web_link_is_a_link_artifact(published, url):
    publish_link("sori-html-report", url, "run.html", "the report")
    assert published == [("link", {"key": "sori-html-report", "link": url, "link_text": "run.html",
                                   "description": "the report"})]


def test_table_cells_that_are_strings_show_as_written():
    rows = literal_rows([{"key": "[지금 클릭](javascript:alert(1))", "label": "<img src=x onerror=alert(1)>",
                          "count": 3, "share": -0.5, "day": None}])
    assert rows == [{"key": "\\[지금 클릭\\]\\(javascript:alert\\(1\\)\\)",
                     "label": "\\<img src=x onerror=alert\\(1\\)\\>", "count": 3, "share": -0.5, "day": None}]
