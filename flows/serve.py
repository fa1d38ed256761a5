"""The deployments sori serves, declared once in `prefect.yaml`: `sori serve` builds its RunnerDeployments
from the same `deployments:` entries (name, entrypoint, description, tags, schedules) that
`prefect deploy --all` reads for a work pool, so the two ways of running sori cannot drift apart.

`sori serve` also shapes the run form analysts fill in: `sources` is a choice of the configured sources,
the date fields say which time zone their dates are in, and `config_path` (the file `sori serve` was
started with) is a deployment default rather than a field of the form.
"""

from __future__ import annotations

import importlib
from typing import Any

import yaml
from prefect import Flow, serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from pipeline.config import PROJECT_ROOT, ConfigError, SoriConfig, load_config
from pipeline.insights.report_server import start_report_server

DECLARATION = PROJECT_ROOT / "prefect.yaml"
DATE_PARAMETERS = ("start", "end")
# The server checks a pattern on every run it creates, but not `format: date`: without it 2026-13-01 is
# accepted and fails only when the run starts. (A day past its month's end still gets that far.)
ISO_DATE = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"


def declared_deployments() -> list[dict[str, Any]]:
    """The `deployments:` entries of prefect.yaml."""
    return yaml.safe_load(DECLARATION.read_text(encoding="utf-8"))["deployments"]


def entrypoint_flow(entrypoint: str) -> Flow:
    """The flow an entrypoint such as `flows/nightly.py:mine_window` names, imported as sori's own module
    (loading the file a second time would make a second, distinct flow object)."""
    path, _, name = entrypoint.partition(":")
    return getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), name)


def schedules(declared: dict[str, Any], config: SoriConfig) -> list[Cron]:
    """The declared cron schedules. Each must run in the config's time zone: "yesterday" is computed
    there, so a schedule in another zone would mine a day that is not yet over."""
    crons = []
    for schedule in declared.get("schedules") or []:
        if schedule["timezone"] != config.timezone:
            raise ConfigError(f"{DECLARATION}: deployment {declared['name']} is scheduled in "
                              f"{schedule['timezone']}, but the config's timezone is {config.timezone}: "
                              "make them the same")
        crons.append(Cron(schedule["cron"], timezone=schedule["timezone"]))
    return crons


def shape_form(deployment: RunnerDeployment, config: SoriConfig) -> None:
    """The run form, which Prefect builds from the flow's signature: that cannot know the configured
    sources or time zone, would show `config_path` to analysts, and lets the server accept month 13.
    Prefect 3.9 keeps the schema it registers (and enforces on every run it creates) in the
    RunnerDeployment's private `_parameter_openapi_schema`, the one place to change it before
    registration; tests/flows/test_serve.py checks the schema the server stores and enforces."""
    properties = deployment._parameter_openapi_schema.properties
    properties.pop("config_path", None)
    if "sources" in properties:
        names = [source.name for source in config.sources]
        properties["sources"]["anyOf"][0]["items"] = {"type": "string", "enum": names}
        properties["sources"]["anyOf"][0]["uniqueItems"] = True
    for name in DATE_PARAMETERS:
        if name in properties:
            properties[name]["description"] += f" A local date in {config.timezone}."
            for branch in properties[name].get("anyOf", [properties[name]]):
                if branch.get("format") == "date":
                    branch["pattern"] = ISO_DATE


def deployments(config_path: str | None = None) -> list[RunnerDeployment]:
    """prefect.yaml's deployments, run with the config at `config_path` (a deployment default)."""
    config = load_config(config_path)
    parameters = {"config_path": config_path} if config_path else {}
    built = []
    for declared in declared_deployments():
        deployment = entrypoint_flow(declared["entrypoint"]).to_deployment(
            name=declared["name"],
            schedules=schedules(declared, config),
            parameters=parameters,
            description=declared["description"],
            tags=declared["tags"],
        )
        shape_form(deployment, config)
        built.append(deployment)
    return built


def serve_all(config_path: str | None = None, limit: int | None = None) -> None:
    """Registers the deployments with the Prefect API and runs their flow runs in this process; serves
    the HTML reports over HTTP meanwhile (`reports:` in the config), so the runs' report links open."""
    config = load_config(config_path)
    if config.reports.serve:
        start_report_server(config.reports, config.reports_dir)
    serve(*deployments(config_path), limit=limit)
