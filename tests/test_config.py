from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from pipeline.config import DEFAULT_CONFIG, SoriConfig, load_config

REQUIRED_CATEGORIES = {
    "waiting", "unresolved", "over_automation", "impersonal", "ignored_request", "quality", "delivery",
    "packaging", "price_payment", "staff", "usability", "reliability", "account", "ads_spam", "policy",
    "other",
}
REQUIRED_TOUCHPOINTS = {"discovery", "signup", "purchase", "delivery", "usage", "support", "return"}


def test_default_config_loads_and_resolves_paths():
    config = load_config(DEFAULT_CONFIG)
    assert {s.name for s in config.sources} == {"reviews", "surveys", "chats"}
    for source in config.sources:
        assert Path(source.path).is_absolute()
    assert config.warehouse.sqlalchemy_url().startswith("duckdb:///")


def test_default_taxonomy_has_the_agreed_keys():
    taxonomy = load_config(DEFAULT_CONFIG).load_taxonomy()
    assert set(taxonomy.categories) == REQUIRED_CATEGORIES
    assert set(taxonomy.touchpoints) == REQUIRED_TOUCHPOINTS
    for key, entry in taxonomy.categories.items():
        assert entry.label, key
        if key != "other":
            assert entry.description and entry.examples and entry.keywords, key


def test_environment_url_overrides_yaml(monkeypatch):
    monkeypatch.setenv("SORI_WAREHOUSE_URL", "postgresql+psycopg://u@localhost/x")
    assert load_config(DEFAULT_CONFIG).warehouse.sqlalchemy_url() == "postgresql+psycopg://u@localhost/x"


def test_unknown_keys_are_errors(tmp_path):
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    raw["tagging"]["similarty_threshold"] = 0.5
    with pytest.raises(ValidationError, match="similarty_threshold"):
        SoriConfig.model_validate(raw)


def test_survey_source_needs_answers():
    with pytest.raises(ValidationError, match="answers"):
        SoriConfig.model_validate({"sources": [{
            "name": "s", "kind": "survey", "path": "x.csv", "columns": {"id": "a", "created_at": "b"},
        }]})


@pytest.mark.parametrize("columns, reason", [
    ({"id": "a", "created_at": "b", "nps": "c"}, "why"),  # not an answer column
    ({"id": "a", "created_at": "b"}, "reason"),  # no score to weigh
])
def test_score_reason_names_an_answer_of_a_scored_survey(columns, reason):
    source = {"name": "s", "kind": "survey", "path": "x.csv", "columns": columns,
              "answers": {"reason": "이유는?", "improve": "개선할 점은?"}}
    with pytest.raises(ValidationError, match="score_reason"):
        SoriConfig.model_validate({"sources": [{**source, "score_reason": reason}]})
    assert SoriConfig.model_validate({"sources": [{**source, "columns": {**columns, "nps": "c"},
                                                   "score_reason": "reason"}]})


@pytest.mark.parametrize("kind, column", [("survey", "rating"), ("chat", "nps"), ("review", "speaker")])
def test_a_column_this_kind_of_source_never_reads_is_refused_not_ignored(kind, column):
    needed = {"speaker": "d"} if kind == "chat" else {}
    source = {"name": "s", "kind": kind, "path": "x.csv", "answers": {"why": "이유는?"},
              "columns": {"id": "a", "created_at": "b", "text": "c", **needed, column: "e"}}
    with pytest.raises(ValidationError, match=f"columns.{column} is read from"):
        SoriConfig.model_validate({"sources": [source]})


def test_a_password_in_the_yaml_url_is_refused():
    with pytest.raises(ValidationError, match="SORI_WAREHOUSE_URL"):
        SoriConfig.model_validate({"warehouse": {"url": "postgresql+psycopg://sori:hunter2@db/voc"}})
    assert SoriConfig.model_validate({"warehouse": {"url": "postgresql+psycopg://sori@db/voc"}})
