"""`sori serve` and `prefect deploy --all` declare the same deployments (prefect.yaml), and the form
analysts fill in, as the real Prefect server stores and enforces it, offers the configured sources."""

from __future__ import annotations

import pytest
import yaml

from pipeline.config import PROJECT_ROOT, ConfigError, load_config
from tests.flows.test_flow import write_config


def declared() -> list[dict]:
    return yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]


def test_serve_registers_exactly_the_deployments_prefect_yaml_declares(monkeypatch):
    from flows.serve import deployments

    monkeypatch.chdir(PROJECT_ROOT)  # Prefect records an entrypoint relative to the working directory
    served = [
        {"name": d.name, "entrypoint": d.entrypoint, "description": d.description, "tags": d.tags,
         "schedules": [{"cron": s.schedule.cron, "timezone": s.schedule.timezone} for s in d.schedules]}
        for d in deployments()
    ]
    expected = [
        {key: entry.get(key, []) for key in ("name", "entrypoint", "description", "tags", "schedules")}
        for entry in declared()
    ]
    assert served == expected
    assert len(served) == 4


def test_prefect_yaml_pins_the_installed_prefect():
    from importlib.metadata import version

    pinned = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text(encoding="utf-8"))["prefect-version"]
    assert pinned == version("prefect")


def test_a_schedule_outside_the_config_time_zone_is_refused(tmp_path):
    from flows.serve import deployments

    path = write_config(tmp_path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["timezone"] = "Europe/Berlin"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match="nightly is scheduled in Asia/Seoul, but the config's timezone is "
                                          "Europe/Berlin"):
        deployments(str(path))


@pytest.mark.slow
def test_the_registered_form_offers_the_configured_sources_and_refuses_others(tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.exceptions import PrefectHTTPStatusError
    from prefect.testing.utilities import prefect_test_harness

    from flows.serve import deployments

    config_path = str(write_config(tmp_path))
    names = [source.name for source in load_config(config_path).sources]
    with prefect_test_harness(server_startup_timeout=120):
        (backfill,) = [d for d in deployments(config_path) if d.name == "backfill"]
        deployment_id = backfill.apply()
        with get_client(sync_client=True) as client:
            stored = client.read_deployment(deployment_id)
            form = stored.parameter_openapi_schema["properties"]
            assert form["sources"]["anyOf"][0]["items"]["enum"] == names
            assert "config_path" not in form, "analysts do not pick config files"
            assert stored.parameters == {"config_path": config_path}
            assert "Asia/Seoul" in form["start"]["description"] and "Asia/Seoul" in form["end"]["description"]
            for bad in ({"start": "2026-10-01", "end": "2026-10-02", "sources": ["reviewz"]},
                        {"start": "2026-13-01", "end": "2026-10-02"}):
                with pytest.raises(PrefectHTTPStatusError, match="409"):
                    client.create_flow_run_from_deployment(deployment_id, parameters=bad)
            run = client.create_flow_run_from_deployment(
                deployment_id, parameters={"start": "2026-10-01", "end": "2026-10-02", "sources": names[:1]})
            assert run.parameters["config_path"] == config_path
