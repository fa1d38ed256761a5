"""The reports folder over real HTTP: a report's link answers with the report, nothing outside the folder
is served, a taken port is a clear error, and the link configuration is validated."""

from __future__ import annotations

import http.client
import socket
import urllib.request
from datetime import date
from pathlib import Path

import pytest
import yaml

from pipeline.config import DEFAULT_CONFIG, ConfigError, ReportsConfig, load_config
from pipeline.insights.html_report import write_report
from pipeline.insights.report import Findings, RunSummary
from pipeline.insights.report_server import ReportFile, ReportServerError, start_report_server
from pipeline.warehouse.schema import connect, ensure_schema
from pipeline.warehouse.writes import RunCounts
from pipeline.window import Window


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    """A real report in tmp_path/reports, served; a secret beside the folder."""
    (tmp_path / "sori.duckdb.secret").write_text("not for the web", encoding="utf-8")
    engine = connect(f"duckdb:///{tmp_path / 'sori.duckdb'}")
    ensure_schema(engine)
    window = Window(date(2026, 10, 20), date(2026, 10, 22))
    findings = Findings(changes=[], previous_mined=False, top=[], emerging=[], rising=[], costs=[],
                        products=[])
    path = write_report(engine, RunSummary("run-1234", window, RunCounts(), 1.0), tmp_path / "reports", None,
                        findings)
    settings = ReportsConfig(port=free_port())
    server = start_report_server(settings, tmp_path / "reports")
    yield settings, path
    server.shutdown()
    server.server_close()
    engine.dispose()


def status(settings: ReportsConfig, raw_path: str) -> int:
    """The status of a GET of `raw_path` sent exactly as written (no client-side normalising)."""
    conn = http.client.HTTPConnection(settings.host, settings.port, timeout=10)
    conn.request("GET", raw_path)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status


def test_the_report_link_answers_with_the_report(served):
    settings, path = served
    url = ReportFile.at(path, settings).url
    assert url == f"http://127.0.0.1:{settings.port}/{path.name}"
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/html")
        assert response.read() == path.read_bytes()
    assert status(settings, "/plotly.min.js") == 200


@pytest.mark.parametrize("raw_path", ["/../sori.duckdb.secret", "/%2e%2e/sori.duckdb.secret",
                                      "/..%2fsori.duckdb.secret", "//etc/passwd", "/", "/missing.html"])
def test_nothing_outside_the_folder_is_served_and_no_folder_is_listed(served, raw_path):
    settings, _ = served
    assert status(settings, raw_path) == 404


def test_a_taken_port_is_an_error_that_names_the_address(served, tmp_path):
    settings, _ = served
    with pytest.raises(ReportServerError, match=f"127.0.0.1:{settings.port}.*reports.port"):
        start_report_server(settings, tmp_path / "reports")


def test_links_use_the_public_address_and_stay_text_when_nothing_serves(tmp_path):
    path = Path("/srv/sori/reports/sori-2026-10-20-2026-10-22-run.html")
    public = ReportsConfig(host="0.0.0.0", base_url="https://cx.example.com/sori")
    assert ReportFile.at(path, public).url == f"https://cx.example.com/sori/{path.name}"
    assert ReportFile.at(path, ReportsConfig(serve=False)).url is None


@pytest.mark.parametrize("reports, problem", [
    ({"base_url": "file:///srv/reports/"}, "reports.base_url"),
    ({"host": "0.0.0.0"}, "set reports.base_url"),
    ({"port": 70000}, "reports.port"),
])
def test_an_unusable_reports_setting_is_refused_by_name(tmp_path, reports, problem):
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    raw["reports"] = reports
    config = tmp_path / "sori.yaml"
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match=problem):
        load_config(config)
