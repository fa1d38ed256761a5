from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from pipeline.config import DEFAULT_CONFIG, ConfigError, SoriConfig, load_config

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


@pytest.mark.parametrize(("models", "problem"), [
    ({"lexical_weight": 1.5}, "models.lexical_weight"),
    ({"lexical_weight": -0.1}, "models.lexical_weight"),
    ({"lexical_temperature": 0}, "models.lexical_temperature"),
    ({"lexical_sentiment": "builtin:sentiment-bow"}, "unknown builtin lexical"),
])
def test_the_lexical_blend_is_validated(models, problem):
    with pytest.raises(ValidationError, match=problem):
        SoriConfig.model_validate({"models": models})


def test_the_lexical_view_can_be_turned_off():
    models = SoriConfig.model_validate({"models": {"lexical_sentiment": None}}).models
    assert models.lexical_sentiment is None
    assert load_config(DEFAULT_CONFIG).models.lexical_sentiment == "builtin:sentiment-kiwi-tfidf"


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


def test_the_warehouse_lock_wait_is_validated():
    with pytest.raises(ValidationError, match="lock_poll_seconds"):
        SoriConfig.model_validate({"warehouse": {"lock_wait_seconds": 1, "lock_poll_seconds": 2}})
    with pytest.raises(ValidationError, match="lock_wait_seconds"):
        SoriConfig.model_validate({"warehouse": {"lock_wait_seconds": 0}})
    assert load_config(DEFAULT_CONFIG).warehouse.lock_wait_seconds > 0


PASSWORD = "Pw_short_1"


def write_yaml(tmp_path: Path, raw: object) -> Path:
    path = tmp_path / "sori.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def api_source(url: str) -> dict:
    return {"sources": [{"name": "api", "kind": "review", "http": {"url": url},
                         "columns": {"id": "a", "created_at": "b", "text": "c"}}]}


@pytest.mark.parametrize("raw, location", [
    ({"warehouse": {"url": f"postgresql://sori:{PASSWORD}@db/voc"}}, "warehouse.url"),
    ({"warehouse": {"url": f"not a url {PASSWORD}"}}, "warehouse.url"),
    (api_source(f"https://sori:{PASSWORD}@api.example.com/reviews"), "sources.0.http.url"),
    (api_source(f"ftp://{PASSWORD}@api.example.com"), "sources.0.http.url"),
    ({"timezone": PASSWORD}, "timezone"),
    ({"warehouse": {"path": {"secret": PASSWORD}}}, "warehouse.path"),
])
def test_a_refused_value_is_never_echoed(tmp_path, raw, location):
    """Not in sori's one-line error, nor in pydantic's own text, nor in any exception chained to it."""
    with pytest.raises(ConfigError) as refused:
        load_config(write_yaml(tmp_path, raw))
    message = str(refused.value)
    assert message.startswith(f"config {tmp_path / 'sori.yaml'}: {location}: ")
    assert "\n" not in message and "input_value" not in message
    assert refused.value.__cause__ is None and refused.value.__context__ is None
    with pytest.raises(ValidationError) as raw_error:
        SoriConfig.model_validate(raw)
    for text in (message, str(raw_error.value), repr(raw_error.value)):
        assert PASSWORD not in text


def test_every_problem_is_named_on_one_line_with_its_location(tmp_path):
    message = str(pytest.raises(ConfigError, load_config, write_yaml(tmp_path, {
        "tagging": {"similarty_threshold": 0.5}, "sources": [{"name": "Bad", "kind": "blog"}]})).value)
    assert "\n" not in message
    for problem in ("tagging.similarty_threshold: Extra inputs are not permitted",
                    "sources.0.name: String should match pattern", "sources.0.kind: Input should be",
                    "sources.0.columns: Field required"):
        assert problem in message


@pytest.mark.parametrize("content, problem", [
    (None, "No such file or directory"),
    ("sources: [1, 2\nwarehouse: x\n", "invalid YAML at line 2, column 10"),
    (b"\xff\xfe timezone", "not UTF-8 text"),
    ("- a list\n", "(top level): Input should be a valid dictionary"),
])
def test_an_unusable_file_is_one_config_error(tmp_path, content, problem):
    path = tmp_path / "sori.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    message = str(pytest.raises(ConfigError, load_config, path).value)
    assert message.startswith(f"config {path}: ") and problem in message and "\n" not in message


def test_a_broken_taxonomy_is_a_config_error_naming_its_file(tmp_path):
    taxonomy = tmp_path / "taxonomy.yaml"
    taxonomy.write_text("categories: {}\ntouchpoints: {}\n", encoding="utf-8")
    config = load_config(write_yaml(tmp_path, {"taxonomy": "taxonomy.yaml"}))
    message = str(pytest.raises(ConfigError, config.load_taxonomy).value)
    assert message.startswith(f"config {taxonomy}: (top level): the taxonomy needs an `other` category")


def test_a_run_request_is_checked_against_the_config():
    from datetime import date, datetime, timedelta

    from pipeline.config import RequestError
    from pipeline.window import Window

    config = load_config()
    assert config.requested_sources(None) == config.requested_sources([]) == ["reviews", "surveys", "chats"]
    assert config.requested_sources(["chats"]) == ["chats"]
    with pytest.raises(RequestError, match=r"^sources reviewz, chat: no such source in the config "
                                           r"\(configured: reviews, surveys, chats\)$"):
        config.requested_sources(["reviews", "reviewz", "chat"])
    day = date(2026, 10, 5)
    assert config.requested_window(day, None) == Window(day, day)
    yesterday = datetime.now(config.tz).date() - timedelta(days=1)
    assert config.requested_window(None, None) == Window(yesterday, yesterday)
    with pytest.raises(RequestError, match="^end 2026-10-01 is before start 2026-10-05$"):
        config.requested_window(day, date(2026, 10, 1))
    with pytest.raises(RequestError, match="^end 2026-10-01 needs a start date$"):
        config.requested_window(None, date(2026, 10, 1))
    with pytest.raises(RequestError, match="^the config has no sources to mine$"):
        SoriConfig().requested_sources(None)
