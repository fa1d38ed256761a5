"""The deployments sori serves: nightly, backfill and retag (forms in the Prefect UI), weekly topic refit."""

from __future__ import annotations

from prefect import serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from flows.backfill import backfill
from flows.nightly import mine_window
from flows.refit import refit_topics
from flows.retag import retag
from pipeline.config import load_config
from pipeline.insights.report_server import start_report_server

NIGHTLY_CRON = "0 2 * * *"
REFIT_CRON = "0 4 * * 1"


def deployments(config_path: str | None = None) -> list[RunnerDeployment]:
    timezone = load_config(config_path).timezone
    parameters = {"config_path": config_path} if config_path else {}
    return [
        mine_window.to_deployment(
            name="nightly",
            schedules=[Cron(NIGHTLY_CRON, timezone=timezone)],
            parameters=parameters,
            description="Mines yesterday (local time) from every source into the warehouse.",
            tags=["sori", "nightly"],
        ),
        backfill.to_deployment(
            name="backfill",
            parameters=parameters,
            description="Re-mines a past window in chunks; re-running it only redoes what is missing.",
            tags=["sori", "backfill"],
        ),
        retag.to_deployment(
            name="retag",
            parameters=parameters,
            description="Re-applies the current taxonomy to stored history after it changed.",
            tags=["sori", "taxonomy"],
        ),
        refit_topics.to_deployment(
            name="topic-refit",
            schedules=[Cron(REFIT_CRON, timezone=timezone)],
            parameters=parameters,
            description="Fits the topic model on recent history; nightly runs then assign with it.",
            tags=["sori", "topics"],
        ),
    ]


def serve_all(config_path: str | None = None, limit: int | None = None) -> None:
    """Registers the deployments with the Prefect API and runs their flow runs in this process; serves
    the HTML reports over HTTP meanwhile (`reports:` in the config), so the runs' report links open."""
    config = load_config(config_path)
    if config.reports.serve:
        start_report_server(config.reports, config.reports_dir)
    serve(*deployments(config_path), limit=limit)
