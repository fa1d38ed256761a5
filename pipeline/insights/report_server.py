"""The reports folder over HTTP, so the report link a run publishes in the Prefect UI opens in a browser
(a browser refuses a `file:` link from a web page, and the file is on the serving machine anyway).

`sori serve` starts it (`reports:` in configs/sori.yaml): the standard library's HTTP server in a
daemon thread, serving that folder's files and nothing else. Paths are resolved inside the folder
(`..` and absolute parts are dropped), and a folder itself answers 404 rather than a listing. It
listens on loopback unless configured otherwise; `reports.base_url` is the address people open when it
sits behind a proxy or listens on a shared interface.
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

from pipeline.config import ReportsConfig

log = logging.getLogger("sori.reports")


class ReportServerError(RuntimeError):
    """The reports cannot be served at the configured address."""


@dataclass(frozen=True)
class ReportFile:
    """A written report: where it is on this machine, and its web address when the reports are served."""
    path: Path
    url: str | None

    @classmethod
    def at(cls, path: Path, settings: ReportsConfig) -> ReportFile:
        base = settings.link_base()
        return cls(path, base + quote(path.name) if base else None)


class ReportRequests(SimpleHTTPRequestHandler):
    """GET and HEAD of the files in the served folder; no listing of a folder."""

    def list_directory(self, path: str) -> None:
        self.send_error(HTTPStatus.NOT_FOUND, "No such report")
        return None

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        log.debug("%s " + format, self.address_string(), *args)


def start_report_server(settings: ReportsConfig, directory: Path) -> ThreadingHTTPServer:
    """Serves `directory` at `settings.host`:`settings.port` from a daemon thread until the process
    ends (or `shutdown()`); a `ReportServerError` naming the address when it cannot listen there."""
    directory.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(ReportRequests, directory=str(directory))
    try:
        server = ThreadingHTTPServer((settings.host, settings.port), handler)
    except OSError as exc:
        raise ReportServerError(
            f"cannot serve the reports at {settings.host}:{settings.port} ({exc.strerror or exc}): another "
            "process (another `sori serve`?) may hold the port; set reports.port, or reports.serve: false"
        ) from None
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="sori-report-server", daemon=True).start()
    log.info("serving the reports in %s at http://%s:%d/ (links: %s)", directory, settings.host,
             server.server_address[1], settings.link_base())
    return server
