"""`sori serve` and `prefect deploy --all` declare the same deployments (prefect.yaml), and the form
analysts fill in, as the real Prefect server stores and enforces it, offers the configured sources,
labelled in Korean (configs/forms.yaml)."""

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


def test_every_form_field_has_a_korean_title_and_the_nightly_form_follows_the_config(monkeypatch):
    from flows.serve import deployments

    monkeypatch.chdir(PROJECT_ROOT)
    forms = {d.name: d for d in deployments()}
    for deployment in forms.values():
        for name, field in deployment._parameter_openapi_schema.properties.items():
            assert field["title"] != name and any("\uac00" <= c <= "\ud7a3" for c in field["title"]), name
            assert any("\uac00" <= c <= "\ud7a3" for c in field["description"]), name
    assert forms["topic-refit"]._parameter_openapi_schema.properties["end"]["description"].endswith(
        "Asia/Seoul 기준 날짜 (YYYY-MM-DD).")
    # scheduled runs mine every source the config has when they run, sources added later included
    assert "sources" not in forms["nightly"].parameters
    nightly_sources = forms["nightly"]._parameter_openapi_schema.properties["sources"]
    assert "default" not in nightly_sources and "minItems" not in nightly_sources
    assert forms["retag"].parameters["sources"] == [s.name for s in load_config().sources]


@pytest.mark.parametrize(("edit", "message"), [
    (lambda raw: raw["parameters"].update(chunk_size={"title": "청크", "description": "청크 크기"}),
     "parameters: no form has a parameter 'chunk_size'"),
    (lambda raw: raw["deployments"]["topic-refit"].update(sources={"title": "출처"}),
     "deployments: topic-refit: the form has no parameter 'sources'"),
    (lambda raw: raw["deployments"].update(nighty={}), "deployments: no deployment nighty"),
    (lambda raw: raw["parameters"]["force"].pop("description"), "parameters: force needs a title and a "
                                                                 "description"),
])
def test_form_texts_naming_what_no_form_has_or_missing_a_text_are_refused(tmp_path, edit, message):
    from flows.serve import FORMS, form_texts

    raw = yaml.safe_load(FORMS.read_text(encoding="utf-8"))
    edit(raw)
    path = tmp_path / "forms.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match=f"{path}: {message}"):
        form_texts(declared(), path)


@pytest.mark.slow
def test_the_registered_form_offers_the_configured_sources_and_refuses_others(tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.exceptions import PrefectHTTPStatusError
    from prefect.testing.utilities import prefect_test_harness

    from flows.serve import deployments

    config_path = str(write_config(tmp_path))
    names = [source.name for source in load_config(config_path).sources]
    with prefect_test_harness(server_startup_timeout=120):
        built = {d.name: d for d in deployments(config_path)}
        deployment_id = built["backfill"].apply()
        nightly_id = built["nightly"].apply()
        with get_client(sync_client=True) as client:
            stored = client.read_deployment(deployment_id)
            form = stored.parameter_openapi_schema["properties"]
            assert form["sources"]["type"] == "array" and "anyOf" not in form["sources"]
            assert form["sources"]["items"]["enum"] == names
            assert form["sources"]["default"] == names, "the form opens with every source selected"
            assert "config_path" not in form, "analysts do not pick config files"
            assert stored.parameters == {"config_path": config_path, "sources": names}
            titles = {name: field["title"] for name, field in form.items()}
            assert titles == {"start": "시작일", "end": "종료일", "sources": "출처",
                              "chunk_days": "청크 일수",
                              "concurrency": "동시 실행 청크", "force": "다시 처리"}
            for name in ("start", "end"):
                assert "Asia/Seoul 기준 날짜 (YYYY-MM-DD)" in form[name]["description"]
            assert "하나 이상" in form["sources"]["description"]
            for bad in ({"start": "2026-10-01", "end": "2026-10-02", "sources": ["reviewz"]},
                        {"start": "2026-10-01", "end": "2026-10-02", "sources": []},
                        {"start": "2026-13-01", "end": "2026-10-02"}):
                with pytest.raises(PrefectHTTPStatusError, match="409"):
                    client.create_flow_run_from_deployment(deployment_id, parameters=bad)
            run = client.create_flow_run_from_deployment(
                deployment_id, parameters={"start": "2026-10-01", "end": "2026-10-02", "sources": names[:1]})
            assert run.parameters["config_path"] == config_path and run.parameters["sources"] == names[:1]
            untouched = client.create_flow_run_from_deployment(
                deployment_id, parameters={"start": "2026-10-01", "end": "2026-10-02"})
            assert untouched.parameters["sources"] == names, "sources left as they are: every source"
            nightly = client.create_flow_run_from_deployment(nightly_id)  # as its schedule does
            assert "sources" not in nightly.parameters, "the flow mines every source configured when it runs"
