"""The deployments sori serves, declared once in `prefect.yaml`: `sori serve` builds its RunnerDeployments
from the same `deployments:` entries (name, entrypoint, description, tags, schedules) that
`prefect deploy --all` reads for a work pool, so the two ways of running sori cannot drift apart.

`sori serve` also shapes the run form analysts fill in: its labels and help texts are Korean (from
`configs/forms.yaml`), `sources` is a multi-select of the configured sources, the date fields say which
time zone their dates are in, and `config_path` (the file `sori serve` was started with) is a deployment
default rather than a field of the form.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

import yaml
from prefect import Flow, serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from pipeline.config import PROJECT_ROOT, ConfigError, SoriConfig, load_config
from pipeline.insights.report_server import start_report_server

DECLARATION = PROJECT_ROOT / "prefect.yaml"
FORMS = PROJECT_ROOT / "configs" / "forms.yaml"
TEXT_KEYS = ("title", "description")
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


def form_parameters(entrypoint: str) -> list[str]:
    """The parameters a deployment's form shows: its flow's, less `config_path`."""
    names = inspect.signature(entrypoint_flow(entrypoint).fn).parameters
    return [name for name in names if name != "config_path"]


def form_texts(declared: list[dict[str, Any]], path: Path = FORMS) -> dict[str, dict[str, dict[str, str]]]:
    """Each deployment's form labels, deployment name → parameter → {title, description}, from
    `path`: its `parameters:` texts with the deployment's own from `deployments:` over them. A
    `ConfigError` naming the file for a parameter or deployment there is none of, or a field left
    without a Korean title or description."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict) or set(raw) - {"parameters", "deployments"}:
        raise ConfigError(f"{path}: expected the keys parameters and deployments")
    fields = {entry["name"]: form_parameters(entry["entrypoint"]) for entry in declared}

    def texts(where: str, entry: Any, complete: bool) -> dict[str, str]:
        if (not isinstance(entry, dict) or set(entry) - set(TEXT_KEYS)
                or not all(isinstance(text, str) and text.strip() for text in entry.values())
                or (complete and set(entry) != set(TEXT_KEYS))):
            raise ConfigError(f"{path}: {where} needs a title and a description, both text")
        return entry

    common = raw.get("parameters") or {}
    for name, entry in common.items():
        if not any(name in names for names in fields.values()):
            raise ConfigError(f"{path}: parameters: no form has a parameter {name!r}")
        texts(f"parameters: {name}", entry, complete=True)
    overrides = raw.get("deployments") or {}
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise ConfigError(f"{path}: deployments: no deployment {', '.join(unknown)} in {DECLARATION.name} "
                          f"(declared: {', '.join(fields)})")
    labels: dict[str, dict[str, dict[str, str]]] = {}
    for deployment, names in fields.items():
        own = overrides.get(deployment) or {}
        for name in own:
            if name not in names:
                raise ConfigError(f"{path}: deployments: {deployment}: the form has no parameter {name!r} "
                                  f"(it has: {', '.join(names)})")
        labels[deployment] = {}
        for name in names:
            where = f"{deployment}: {name}"
            merged = {**texts(where, common.get(name, {}), False), **texts(where, own.get(name, {}), False)}
            labels[deployment][name] = texts(where, merged, complete=True)
    return labels


def shape_form(deployment: RunnerDeployment, config: SoriConfig, labels: dict[str, dict[str, str]]) -> None:
    """The run form, which Prefect builds from the flow's signature: that cannot know the configured
    sources or time zone, labels fields with English parameter names, would show `config_path` to
    analysts, and lets the server accept month 13. Prefect 3.9 keeps the schema it registers (and
    enforces on every run it creates) in the RunnerDeployment's private `_parameter_openapi_schema`,
    the one place to change it before registration; tests/flows/test_serve.py checks the schema the
    server stores and enforces.

    `sources` becomes a plain array of the configured names, which the UI shows as a multi-select
    (an `anyOf` with null shows a list/None switch that opens on None). On a deployment without a
    schedule (backfill, retag) it defaults to every configured source and must keep at least one; a
    scheduled one (nightly) has no default, so its runs mine every source the config has when they run,
    sources added later included, and an empty choice there means all of them, as in the flow."""
    properties = deployment._parameter_openapi_schema.properties
    properties.pop("config_path", None)
    if "sources" in properties:
        names = [source.name for source in config.sources]
        choice: dict[str, Any] = {"type": "array", "items": {"type": "string", "enum": names},
                                  "uniqueItems": True, "position": properties["sources"]["position"]}
        if not deployment.schedules:
            choice |= {"minItems": 1, "default": names}
            deployment.parameters = {**deployment.parameters, "sources": names}
        properties["sources"] = choice
    for name, texts in labels.items():
        properties[name]["title"] = texts["title"]
        properties[name]["description"] = texts["description"].replace("{timezone}", config.timezone)
    for name in DATE_PARAMETERS:
        if name in properties:
            for branch in properties[name].get("anyOf", [properties[name]]):
                if branch.get("format") == "date":
                    branch["pattern"] = ISO_DATE


def deployments(config_path: str | None = None) -> list[RunnerDeployment]:
    """prefect.yaml's deployments, run with the config at `config_path` (a deployment default)."""
    config = load_config(config_path)
    declarations = declared_deployments()
    labels = form_texts(declarations)
    built = []
    for declared in declarations:
        deployment = entrypoint_flow(declared["entrypoint"]).to_deployment(
            name=declared["name"],
            schedules=schedules(declared, config),
            parameters={"config_path": config_path} if config_path else {},
            description=declared["description"],
            tags=declared["tags"],
        )
        shape_form(deployment, config, labels[declared["name"]])
        built.append(deployment)
    return built


def serve_all(config_path: str | None = None, limit: int | None = None) -> None:
    """Registers the deployments with the Prefect API and runs their flow runs in this process; serves
    the HTML reports over HTTP meanwhile (`reports:` in the config), so the runs' report links open."""
    config = load_config(config_path)
    if config.reports.serve:
        start_report_server(config.reports, config.reports_dir)
    serve(*deployments(config_path), limit=limit)
