"""Validated configuration: `configs/sori.yaml` plus the pain taxonomy it points to.

Everything has a default that works on the bundled sample data, so `load_config()` with no argument
gives a runnable setup; a user's own file only overrides what differs.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from models.lexical import known_builtin
from pipeline.secrets import resolve_secret
from pipeline.window import Window, trailing_window

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "configs" / "sori.yaml"

SourceKind = Literal["review", "survey", "chat"]


class ConfigError(ValueError):
    """A configuration file sori cannot use, in one line: the file, then each problem at its location.

    Values are never quoted back: a refused value may be the very credential that must not reach a
    terminal, a log or the Prefect database.
    """


class RequestError(ValueError):
    """Run parameters that contradict the config or each other (an unknown source, a window that ends
    before it starts): refused before any work starts and never retried, since trying again cannot help."""


class StrictModel(BaseModel):
    """Unknown keys are errors: a typo in YAML must not silently fall back to a default. Validation
    errors never carry the input value, for the reason `ConfigError` gives."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


Model = TypeVar("Model", bound=BaseModel)


def read_model(model: type[Model], path: Path) -> Model:
    """`model` validated from the YAML file at `path`. A missing or unreadable file, broken YAML and
    invalid values are all a `ConfigError` naming the file, raised outside the handler so that no
    exception chained to it carries a value."""
    try:
        with open(path, encoding="utf-8") as fh:
            raw = yaml.safe_load(fh)
        return model.model_validate(raw or {})
    except OSError as exc:
        problem = exc.strerror or type(exc).__name__
    except UnicodeDecodeError:
        problem = "not UTF-8 text"
    except yaml.YAMLError as exc:
        problem = _yaml_problem(exc)
    except ValidationError as exc:
        problem = describe_errors(exc)
    raise ConfigError(f"config {path}: {problem}")


def describe_errors(error: ValidationError) -> str:
    """Each problem as `location: what is wrong`, on one line, without the values given."""
    return "; ".join(f"{_location(e['loc'])}: {_message(e['msg'])}"
                     for e in error.errors(include_input=False, include_url=False, include_context=False))


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _message(msg: str) -> str:
    """Pydantic's message without its "Value error, " prefix, on one line."""
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    return " ".join(msg.split())


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """Where the YAML breaks and why, without PyYAML's snippet of the offending line (which would quote
    whatever the line holds)."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"
    return "invalid YAML"


class WarehouseConfig(StrictModel):
    url: str | None = None
    url_secret: str | None = None
    path: Path = Path("../warehouse/sori.duckdb")
    store_raw_text: bool = False
    # A run left `running` by a process on another host is closed as crashed after this long (one on
    # this host as soon as its process is gone).
    abandoned_after_hours: float = Field(24.0, gt=0)
    # DuckDB file only (one process at a time may open it): how long sori waits for another process (a
    # second run, a BI tool) to let go of the file before it fails, and the longest pause between tries.
    lock_wait_seconds: float = Field(120.0, gt=0)
    lock_poll_seconds: float = Field(0.25, gt=0)

    @model_validator(mode="after")
    def _poll_within_wait(self) -> WarehouseConfig:
        if self.lock_poll_seconds > self.lock_wait_seconds:
            raise ValueError(f"lock_poll_seconds ({self.lock_poll_seconds:g}) must not exceed "
                             f"lock_wait_seconds ({self.lock_wait_seconds:g})")
        return self

    @field_validator("url")
    @classmethod
    def _no_password_in_yaml(cls, url: str | None) -> str | None:
        if not url:
            return url
        try:
            password = make_url(url).password
        except ArgumentError:
            raise ValueError("not a SQLAlchemy URL (dialect+driver://user@host/database)") from None
        if password:
            raise ValueError("the warehouse URL in YAML has a password: put the URL in the environment "
                             "(SORI_WAREHOUSE_URL) or a Prefect Secret block (url_secret) instead")
        return url

    def sqlalchemy_url(self) -> str:
        """The environment first, then a Prefect Secret block, then the YAML URL (which may not carry
        a password), then the embedded DuckDB file."""
        if url := os.environ.get("SORI_WAREHOUSE_URL"):
            return url
        if self.url_secret:
            return resolve_secret(None, self.url_secret)
        return self.url or f"duckdb:///{self.path}"


class ModelsConfig(StrictModel):
    # The one-pass VOC model (models/voc.py): sentiment, embedding, pain, categories, touchpoints and
    # response-needed from one encoder pass. When set, `encoder` and `sentiment` are not loaded; null
    # runs those two models instead (two passes, no model heads).
    voc: str | None = "builtin:voc-e5"
    encoder: str = "builtin:multilingual-e5-small"
    sentiment: str = "builtin:sentiment-e5-lora"
    device: str | None = None
    batch_size: int = Field(64, ge=1)
    # ONNX Runtime, built once on first use: int8 (static, batch-invariant; decision 0014) or fp32 (the
    # same scores as PyTorch); see configs/sori.yaml.
    backend: Literal["torch", "onnx", "onnx-int8"] = "onnx-int8"
    # The lexical sentiment view (models/lexical.py: Kiwi morphemes, TF-IDF, logistic regression),
    # blended with the sentiment of the model above at the log-probability level: P ∝ exp(((1 − w) ·
    # log P_model + w · log P_lexical) / T) with w = lexical_weight, T = lexical_temperature. null: the
    # model's sentiment alone. Tuned on the dev split by `python -m models.evaluation.tune_lexical_blend`.
    lexical_sentiment: str | None = "builtin:sentiment-kiwi-tfidf"
    lexical_weight: float = Field(0.55, ge=0, le=1)
    lexical_temperature: float = Field(0.81, gt=0)

    @field_validator("lexical_sentiment")
    @classmethod
    def _known_lexical(cls, name: str | None) -> str | None:
        return None if name is None else known_builtin(name)


class SentimentConfig(StrictModel):
    negative_threshold: float = Field(0.5, gt=0, lt=1)
    # A sentence with a complaint cue (taxonomy `complaint_cues`) is a pain point unless its
    # P(positive) reaches this; null leaves pain to P(negative) alone (pipeline/components/pain.py).
    cue_max_positive: float | None = Field(0.7, gt=0, le=1)
    # A text of several sentences gets a model pass of its own (a mixed review is neither its best nor
    # its worst sentence), unless its sentences all have the same label, each with a probability of at
    # least this: then it takes that label and their mean probabilities. null: always its own pass.
    document_from_agreeing_sentences: float | None = Field(0.6, ge=0, le=1)


class PainConfig(StrictModel):
    """The complaint head (pipeline/components/pain.py): fitted on the tagging phrases plus these examples."""

    # Written sentences labelled has_pain 0/1 (text, has_pain, kind); null: a sentence is a pain
    # point by the `sentiment` thresholds and complaint cues alone.
    examples: Path | None = Path("../data/tagging/pain_examples.csv")
    head_c: float = Field(2.0, gt=0)
    # How many nearest complaint and non-complaint examples the neighbour-margin feature averages.
    neighbours: int = Field(5, ge=1)
    min_probability: float = Field(0.5, gt=0, lt=1)
    # With a VOC model (models.voc): the share of its pain head in the log-odds, the complaint head
    # having the rest (0: the complaint head alone; 1: the model alone).
    model_weight: float = Field(0.25, ge=0, le=1)
    # Log-odds a review's star rating adds to each of its sentences: +w at 1★, +w/2 at 2★, 0 at 3★,
    # -w/2 at 4★, -w at 5★ (0: ratings play no part). Items without a rating get nothing.
    rating_weight: float = Field(0.5, ge=0)


class TaggingConfig(StrictModel):
    """Probabilities and similarities depend on the encoder: re-tune these when the encoder changes."""

    # Labelled complaint sentences (text, categories, touchpoint) the category head learns from,
    # besides the taxonomy's examples; null: the examples alone.
    phrases: Path | None = Path("../data/tagging/phrases.csv")
    head_c: float = Field(4.0, gt=0)  # inverse regularisation of each category's logistic regression
    # With a VOC model (models.voc): the share of its category head in P(category) for the categories
    # it was trained on, the example-fitted head having the rest; a category added since is the
    # example head's alone. Its touchpoint head's P(touchpoint) × touchpoint_model_weight is added to
    # each touchpoint's score.
    model_weight: float = Field(0.25, ge=0, le=1)
    touchpoint_model_weight: float = Field(0.0, ge=0)
    min_probability: float = Field(0.15, ge=0, le=1)
    keyword_bonus: float = Field(0.15, ge=0)
    touchpoint_keyword_bonus: float = Field(0.015, ge=0)
    # Added to the touchpoint the primary category names (the guide: "take the one of the primary
    # category"): short complaints often embed nearest `usage` whatever they are about.
    category_touchpoint_bonus: float = Field(0.015, ge=0)
    margin: float = Field(0.1, ge=0)
    max_categories: int = Field(3, ge=1)
    # A pain sentence naming no category takes the tags of a named pain sentence this many sentences
    # away at most (0: never).
    inherit_distance: int = Field(1, ge=0)


class TopicsConfig(StrictModel):
    model_dir: Path = Path("../warehouse/topic_model")
    min_documents: int = Field(60, ge=2)
    min_topic_size: int = Field(8, ge=2)
    seed: int = 42
    labels: Path | None = Path("topic_labels.yaml")  # analyst labels by topic id; null: none


class EmergingConfig(StrictModel):
    """A day is flagged when its count is at least min_ratio × expected, with min_baseline_days of
    history mined, and either the count is at least min_count and improbable under the trailing
    baseline (p ≤ max_p_value), or the last window_days together are at least min_count, at least
    min_ratio × their expected total and improbable under the baseline before them
    (p ≤ max_window_p_value; window_days 1: the day alone). A day also carries on the incident flagged
    last, for at most trend_days, while above that day's expected count and, with the unflagged days of
    its last window_days, at least min_count and min_ratio × as much per day.

    A key is rising when its last trend_days, less the days flagged already, hold at least min_count
    and trend_min_ratio × their expected count under the baseline before them (p ≤ max_trend_p_value):
    pain that grows over weeks carries its trailing baseline up with it, so no day stands out."""

    baseline_days: int = Field(28, ge=7)
    min_baseline_days: int = Field(14, ge=1)
    max_p_value: float = Field(0.001, gt=0, lt=1)
    min_count: int = Field(5, ge=1)
    min_ratio: float = Field(2.0, ge=1)
    window_days: int = Field(3, ge=1, le=14)
    max_window_p_value: float = Field(0.00003, gt=0, lt=1)
    trend_days: int = Field(14, ge=2, le=56)
    trend_min_ratio: float = Field(1.5, ge=1)
    max_trend_p_value: float = Field(0.0001, gt=0, lt=1)


class RunnerConfig(StrictModel):
    """Where classification batches run: threads in the flow's process, or a Dask cluster (a local
    one started for the run, or an existing scheduler's address)."""

    kind: Literal["threads", "dask"] = "threads"
    workers: int = Field(1, ge=1)
    address: str | None = None
    batch_size: int = Field(512, ge=1)
    # While texts are classified, the run logs how many are done at least this often.
    progress_seconds: float = Field(15.0, gt=0)


# Columns only one kind of source reads: mapped on another, they would be ignored without a word.
COLUMN_KINDS = {"rating": "review", "nps": "survey", "speaker": "chat"}


class SourceColumns(StrictModel):
    """Maps sori's field names to the user's export columns, so nobody renames a file for sori."""

    id: str
    created_at: str
    text: str | None = None
    rating: str | None = None
    product: str | None = None  # product or store the text is about (a chat: the conversation's first)
    nps: str | None = None
    speaker: str | None = None
    updated_at: str | None = None  # last-modified time, for incremental pulls


class SqlReaderConfig(StrictModel):
    """A SQL table or query; the URL comes from the environment or a Prefect Secret block, so
    credentials never live in YAML."""

    url_env: str | None = None
    secret: str | None = None
    table: str | None = None  # `schema.table` or `table`
    query: str | None = None  # used as a subquery
    timestamp_column: str  # the window filters on it: the record's created time
    batch_size: int = Field(1000, ge=1)

    @model_validator(mode="after")
    def _one_of_each(self) -> SqlReaderConfig:
        if not (self.url_env or self.secret):
            raise ValueError("sql needs `url_env` (an environment variable) or `secret` (a Prefect "
                             "Secret block) holding the database URL")
        if (self.table is None) == (self.query is None):
            raise ValueError("sql needs exactly one of `table` or `query`")
        return self


class HttpReaderConfig(StrictModel):
    """A JSON API read page by page; the window and `since` travel as query parameters."""

    url: str = Field(pattern=r"^https?://")
    records_path: str = ""  # dotted path to the list of records; empty: the body is the list
    pagination: Literal["page", "cursor", "link"] = "page"
    page_param: str = "page"
    page_size_param: str | None = None
    page_size: int = Field(100, ge=1)
    cursor_param: str = "cursor"
    next_cursor_path: str | None = None
    start_param: str | None = None
    end_param: str | None = None
    since_param: str | None = None
    auth: Literal["none", "bearer", "api_key"] = "none"
    token_env: str | None = None
    token_secret: str | None = None
    api_key_header: str = "X-API-Key"
    timeout_s: float = Field(30, gt=0)
    max_retries: int = Field(5, ge=0)
    backoff_s: float = Field(1.0, ge=0)
    max_pages: int = Field(10000, ge=1)

    @field_validator("url")
    @classmethod
    def _no_password_in_yaml(cls, url: str) -> str:
        if urlsplit(url).password:
            raise ValueError("the API URL in YAML has a password: use `auth` with `token_env` or "
                             "`token_secret` instead")
        return url

    @model_validator(mode="after")
    def _complete(self) -> HttpReaderConfig:
        if self.pagination == "cursor" and not self.next_cursor_path:
            raise ValueError("cursor pagination needs `next_cursor_path`")
        if self.auth != "none" and not (self.token_env or self.token_secret):
            raise ValueError(f"auth {self.auth!r} needs `token_env` or `token_secret`")
        return self


class SourceConfig(StrictModel):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: SourceKind
    path: str | None = None
    sql: SqlReaderConfig | None = None
    http: HttpReaderConfig | None = None
    format: Literal["auto", "csv", "jsonl", "parquet"] = "auto"
    channel: str | None = None
    columns: SourceColumns
    answers: dict[str, str] = Field(default_factory=dict)
    # Survey sources: the answer (a key of `answers`) that gives the reason for the NPS score. The
    # score then weighs on whether its sentences are pain points, as a review's stars do
    # (pain.rating_weight); an answer to "what should we improve" asks for criticism whatever the score.
    score_reason: str | None = None
    speakers: dict[Literal["customer", "agent", "bot"], str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_transport(self) -> SourceConfig:
        given = [key for key in ("path", "sql", "http") if getattr(self, key) is not None]
        if len(given) != 1:
            raise ValueError(f"source {self.name!r} needs exactly one of `path`, `sql` or `http`, "
                             f"got {given or 'none'}")
        return self

    @model_validator(mode="after")
    def _kind_needs_columns(self) -> SourceConfig:
        if self.kind == "survey" and not self.answers:
            raise ValueError(f"survey source {self.name!r} needs `answers`: column → question text")
        if self.kind != "survey" and not self.columns.text:
            raise ValueError(f"{self.kind} source {self.name!r} needs columns.text")
        if self.kind == "chat" and not self.columns.speaker:
            raise ValueError(f"chat source {self.name!r} needs columns.speaker")
        for column, kind in COLUMN_KINDS.items():
            if getattr(self.columns, column) and self.kind != kind:
                raise ValueError(f"{self.kind} source {self.name!r}: columns.{column} is read from {kind} "
                                 "sources only")
        if self.score_reason is not None and (self.score_reason not in self.answers or not self.columns.nps):
            raise ValueError(f"source {self.name!r}: score_reason {self.score_reason!r} must be one of "
                             f"`answers` ({', '.join(self.answers) or 'none'}) of a source with columns.nps")
        return self

    @property
    def channel_name(self) -> str:
        return self.channel or self.kind


class TaxonomyEntry(StrictModel):
    label: str
    description: str = ""
    action: str = ""
    examples: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)

    @field_validator("keywords")
    @classmethod
    def _compact(cls, keywords: list[str]) -> list[str]:
        """Keywords match text with spaces removed, so they are stored the same way."""
        return _compact_all(keywords)


class CategoryEntry(TaxonomyEntry):
    touchpoint: str | None = None  # the touchpoint this complaint usually happens at (account → signup)


def _compact_all(words: list[str]) -> list[str]:
    return [w.replace(" ", "").lower() for w in words if w.strip()]


class ComplaintCues(StrictModel):
    """Signs of a complaint that need no strong sentiment ("앱이 안 열려요", "개선해 주세요");
    pipeline/components/pain.py reads them."""

    negations: bool = True  # 안, 못, 않다, 없다, 아니다, 말다 among the sentence's Kiwi keywords
    words: frozenset[str] = frozenset()  # Kiwi keyword forms: nouns, stems + 다
    phrases: list[str] = Field(default_factory=list)  # substrings of the text with spaces removed

    @field_validator("phrases")
    @classmethod
    def _compact(cls, phrases: list[str]) -> list[str]:
        return _compact_all(phrases)


class Taxonomy(StrictModel):
    version: int = 1
    categories: dict[str, CategoryEntry]
    touchpoints: dict[str, TaxonomyEntry]
    complaint_cues: ComplaintCues = Field(default_factory=ComplaintCues)

    @model_validator(mode="after")
    def _has_other(self) -> Taxonomy:
        if "other" not in self.categories:
            raise ValueError("the taxonomy needs an `other` category for pain that fits nowhere else")
        for key in [*self.categories, *self.touchpoints]:
            if not key.replace("_", "").isalnum() or key != key.lower():
                raise ValueError(f"taxonomy key {key!r} must be lower_snake_case: keys are warehouse ids")
        for key, entry in self.categories.items():
            if entry.touchpoint is not None and entry.touchpoint not in self.touchpoints:
                raise ValueError(f"category {key!r} names an unknown touchpoint {entry.touchpoint!r}")
        return self


class SeverityConfig(StrictModel):
    """What each kind of evidence adds to a pain point's 0–1 severity (pipeline/components/severity.py)."""

    negativity: float = Field(0.4, ge=0)  # times P(negative)
    intensity: float = Field(0.15, ge=0)  # 최악, 짜증, !! …
    escalation: float = Field(0.2, ge=0)  # 소비자원, 신고, 소송 …
    response_needed: float = Field(0.1, ge=0)  # asks for an answer, refund, call-back or fix
    low_rating: float = Field(0.1, ge=0)  # 1–2★
    detractor: float = Field(0.1, ge=0)  # NPS 0–6
    several_categories: float = Field(0.05, ge=0)
    human_denied: float = Field(0.15, ge=0)  # a chat that asked for a human and never reached one
    long_wait: float = Field(0.1, ge=0)  # first human reply after `long_wait_minutes`
    bot_loop: float = Field(0.05, ge=0)  # `bot_loop_turns` bot turns before a human
    long_wait_minutes: float = Field(30.0, gt=0)
    bot_loop_turns: int = Field(3, ge=1)


class LimitsConfig(StrictModel):
    """Per text, so one pasted essay or a sentence repeated a thousand times cannot dominate counts,
    topics or emerging issues. What a limit leaves out is recorded on the feedback row."""

    # Characters read of one text; the rest is cut at the last space before the limit.
    max_characters: int = Field(4000, ge=100)
    # Sentences mined of one text, counted after repeats are dropped.
    max_sentences: int = Field(60, ge=1)
    # Times the same sentence (spacing and case aside) is mined in one text.
    max_repeats: int = Field(1, ge=1)


WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})


class ReportsConfig(StrictModel):
    """The HTML reports (written beside the warehouse, in `reports/`) and the web server `sori serve`
    runs for that folder, so the report link in the Prefect UI opens in a browser."""

    serve: bool = True
    host: str = "127.0.0.1"  # loopback: only this machine; a LAN address or 0.0.0.0 shares it
    port: int = Field(8765, ge=1, le=65535)
    # The address people open, e.g. behind a reverse proxy (https://sori.example.com/reports/); null: the
    # server's own http://host:port/.
    base_url: str | None = None
    # The daily charts show the window, or this many days up to its end when the window is shorter.
    trend_days: int = Field(28, ge=2, le=366)
    # Rows of the top-pain bars and the categories that get their own small daily chart.
    top_categories: int = Field(8, ge=1, le=30)
    trend_categories: int = Field(6, ge=1, le=12)
    # Example quotes under each emerging issue.
    examples: int = Field(3, ge=0, le=10)

    @field_validator("base_url")
    @classmethod
    def _web_address(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("reports.base_url must be an http(s) address such as https://sori.example.com/")
        return url if url.endswith("/") else url + "/"

    @model_validator(mode="after")
    def _reachable_link(self) -> ReportsConfig:
        if self.serve and self.base_url is None and self.host in WILDCARD_HOSTS:
            raise ValueError(f"reports.host {self.host or '(empty)'} listens on every interface, which is no "
                             "address to link to: set reports.base_url to the address people open")
        return self

    def link_base(self) -> str | None:
        """Where a report's file name is appended to make its link; None when nothing serves them."""
        if self.base_url:
            return self.base_url
        if self.serve:
            host = f"[{self.host}]" if ":" in self.host else self.host
            return f"http://{host}:{self.port}/"
        return None


class SoriConfig(StrictModel):
    timezone: str = "Asia/Seoul"
    warehouse: WarehouseConfig = Field(default_factory=WarehouseConfig)
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    taxonomy: Path = Path("taxonomy.yaml")
    alerts: Path | None = None
    sentiment: SentimentConfig = Field(default_factory=SentimentConfig)
    pain: PainConfig = Field(default_factory=PainConfig)
    tagging: TaggingConfig = Field(default_factory=TaggingConfig)
    topics: TopicsConfig = Field(default_factory=TopicsConfig)
    runner: RunnerConfig = Field(default_factory=RunnerConfig)
    emerging: EmergingConfig = Field(default_factory=EmergingConfig)
    severity: SeverityConfig = Field(default_factory=SeverityConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)
    sources: list[SourceConfig] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone: use an IANA name such as Asia/Seoul") from None
        return name

    @model_validator(mode="after")
    def _unique_sources(self) -> SoriConfig:
        names = [s.name for s in self.sources]
        if len(names) != len(set(names)):
            raise ValueError(f"source names must be unique, got {names}")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(f"no source named {name!r}; configured: {[s.name for s in self.sources]}")

    def load_taxonomy(self) -> Taxonomy:
        return load_taxonomy(self.taxonomy)

    @property
    def reports_dir(self) -> Path:
        """The HTML reports' folder, beside the warehouse file."""
        return self.warehouse.path.parent / "reports"

    def unknown_sources(self, names: list[str]) -> list[str]:
        configured = {source.name for source in self.sources}
        return [name for name in names if name not in configured]

    def requested_sources(self, names: list[str] | None) -> list[str]:
        """The sources a run mines: those named, or every configured one when none is; a
        `RequestError` naming each one the config does not have."""
        unknown = self.unknown_sources(names or [])
        if unknown:
            configured = ", ".join(source.name for source in self.sources) or "none"
            raise RequestError(f"sources {', '.join(unknown)}: no such source in the config "
                               f"(configured: {configured})")
        if not names and not self.sources:
            raise RequestError("the config has no sources to mine")
        return list(names) if names else [source.name for source in self.sources]

    def requested_window(self, start: date | None, end: date | None) -> Window:
        """The local dates a run mines: start … end (end defaults to start), or yesterday in `timezone`
        when neither is given; a `RequestError` for an end without a start or before it."""
        if start is None:
            if end is not None:
                raise RequestError(f"end {end} needs a start date")
            return trailing_window(1, self.tz)
        if end is not None and end < start:
            raise RequestError(f"end {end} is before start {start}")
        return Window(start, end or start)


def load_taxonomy(path: Path) -> Taxonomy:
    return read_model(Taxonomy, path)


def load_config(path: str | Path | None = None) -> SoriConfig:
    """Load and validate a config (a `ConfigError` otherwise); relative paths inside it resolve
    against the file's folder."""
    config_path = Path(path or os.environ.get("SORI_CONFIG") or DEFAULT_CONFIG).resolve()
    config = read_model(SoriConfig, config_path)
    base = config_path.parent
    config.taxonomy = _resolve(base, config.taxonomy)
    config.alerts = _resolve(base, config.alerts) if config.alerts else None
    config.warehouse.path = _resolve(base, config.warehouse.path)
    config.topics.model_dir = _resolve(base, config.topics.model_dir)
    config.topics.labels = _resolve(base, config.topics.labels) if config.topics.labels else None
    config.tagging.phrases = _resolve(base, config.tagging.phrases) if config.tagging.phrases else None
    config.pain.examples = _resolve(base, config.pain.examples) if config.pain.examples else None
    for source in config.sources:
        if source.path and not Path(source.path).is_absolute():
            source.path = str((base / source.path).resolve())
    return config


def _resolve(base: Path, path: Path) -> Path:
    return path if path.is_absolute() else (base / path).resolve()
