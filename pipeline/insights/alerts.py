"""Close the loop: route new pain points to the team that owns them, the same day.

Routing rules in YAML (`configs/alerts.yaml`) match pain points by category, touchpoint, channel,
product (the product or store a text is about, so its owner hears of its pain), severity,
response_needed, how sure the complaint head is (`min_pain_probability`), and whether their day's
category, touchpoint, topic or product is an emerging issue (a spike) or rising (growing for weeks:
`pipeline.insights.emerging`), and send one message per rule and run to a channel: a Slack-compatible
webhook or e-mail. Each message carries the category's action plan from the taxonomy and the evidence.
The `alerts` table remembers every (rule, pain point) delivered, so nothing is sent twice; a failed
delivery is retried with backoff, recorded, and tried again on the next run.
"""

from __future__ import annotations

import logging
import smtplib
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
from pydantic import Field, field_validator, model_validator
from sqlalchemy import Engine, select

from pipeline.config import StrictModel, Taxonomy, read_model
from pipeline.inert import chat_text
from pipeline.insights.emerging import marked
from pipeline.secrets import resolve_secret
from pipeline.text.normalize import normalize_name
from pipeline.warehouse.schema import alerts, feedback, pain_points
from pipeline.warehouse.writes import insert_rows
from pipeline.window import Window

log = logging.getLogger("sori.alerts")

MAX_EVIDENCE_LINES = 20


class WebhookChannel(StrictModel):
    type: Literal["webhook"]
    url_env: str | None = None
    url_secret: str | None = None


class EmailChannel(StrictModel):
    type: Literal["email"]
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    starttls: bool = False
    username_env: str | None = None
    password_env: str | None = None
    sender: str
    recipients: list[str] = Field(min_length=1)


Channel = Annotated[WebhookChannel | EmailChannel, Field(discriminator="type")]


class Match(StrictModel):
    """Every condition given must hold; lists match any of their values."""

    categories: list[str] = Field(default_factory=list)
    touchpoints: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)
    products: list[str] = Field(default_factory=list)
    min_severity: int = Field(1, ge=1, le=5)
    response_needed: bool | None = None
    emerging: bool | None = None
    rising: bool | None = None
    # Only pain points the complaint head is this sure of (`pain_points.pain_probability`; one without
    # a probability never passes).
    min_pain_probability: float | None = Field(None, ge=0, le=1)

    @field_validator("products")
    @classmethod
    def _as_sources_write_them(cls, products: list[str]) -> list[str]:
        """Normalised as sources normalise the names they read, so a decomposed name still matches."""
        return [normalize_name(product) for product in products]

    def matches(self, row: dict[str, Any]) -> bool:
        categories = row["categories"].split(";")
        probability = row["pain_probability"]
        return (
            (not self.categories or any(c in self.categories for c in categories))
            and (not self.touchpoints or row["touchpoint"] in self.touchpoints)
            and (not self.channels or row["channel"] in self.channels)
            and (not self.products or row["product"] in self.products)
            and row["severity"] >= self.min_severity
            and (self.response_needed is None or bool(row["response_needed"]) == self.response_needed)
            and (self.emerging is None or row["emerging"] == self.emerging)
            and (self.rising is None or row["rising"] == self.rising)
            and (self.min_pain_probability is None
                 or (probability is not None and probability >= self.min_pain_probability))
        )


class Rule(StrictModel):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    when: Match = Field(default_factory=Match)
    send_to: str


class AlertConfig(StrictModel):
    retries: int = Field(3, ge=0)
    backoff_s: float = Field(2.0, ge=0)
    timeout_s: float = Field(10.0, gt=0)
    channels: dict[str, Channel] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known_channels(self) -> AlertConfig:
        for rule in self.rules:
            if rule.send_to not in self.channels:
                raise ValueError(f"rule {rule.name!r} sends to unknown channel {rule.send_to!r}")
        return self


def load_alert_config(path: Path) -> AlertConfig:
    """The alert rules, or a `ConfigError` naming the file."""
    return read_model(AlertConfig, path)


def pain_rows(engine: Engine, window: Window, sources: Sequence[str]) -> list[dict[str, Any]]:
    """The window's pain points with their text's product, each marked `emerging` when its day's
    category, touchpoint, topic or product is flagged in emerging_issues, and `rising` when one of them
    is rising."""
    flags, rising = marked(engine, window, "flag"), marked(engine, window, "rising")
    with engine.connect() as conn:
        rows = conn.execute(
            select(pain_points, feedback.c.product)
            .join(feedback, feedback.c.feedback_id == pain_points.c.feedback_id)
            .where(pain_points.c.record_date >= window.start, pain_points.c.record_date <= window.end,
                   pain_points.c.source.in_(list(sources)))
            .order_by(pain_points.c.severity_score.desc(), pain_points.c.pain_point_id)
        ).mappings().all()
    result = []
    for row in rows:
        day = row["record_date"]
        keys = [("category", c) for c in row["categories"].split(";")]
        keys += [("touchpoint", row["touchpoint"]), ("topic", str(row["topic_id"])),
                 ("product", row["product"])]
        result.append({**row, "emerging": any((day, *key) in flags for key in keys),
                       "rising": any((day, *key) in rising for key in keys)})
    return result


def already_sent(engine: Engine, rule: str) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(
            select(alerts.c.pain_point_id).where(alerts.c.rule == rule, alerts.c.status == "sent")
        ).scalars())


def compose(rule: Rule, rows: Sequence[dict[str, Any]], taxonomy: Taxonomy) -> tuple[str, str]:
    """(subject, body): what hurts, the owning team's action plan, and the customers' own words."""
    categories = sorted({c for row in rows for c in row["categories"].split(";")},
                        key=lambda c: -sum(c in row["categories"].split(";") for row in rows))
    labels = ", ".join(taxonomy.categories[c].label if c in taxonomy.categories else c for c in categories)
    subject = f"[sori] {rule.name}: {len(rows)} new pain points ({labels})"
    lines = [subject, ""]
    for category in categories:
        entry = taxonomy.categories.get(category)
        if entry and entry.action:
            lines.append(f"{entry.label} — 대응 방안: {entry.action}")
    lines += ["", "근거 (심각도 순):"]
    for row in rows[:MAX_EVIDENCE_LINES]:
        flag = ((" · 급증" if row["emerging"] else "") + (" · 증가 추세" if row["rising"] else "")
                + (" · 답변 필요" if row["response_needed"] else ""))
        product = f" {row['product']}" if row["product"] else ""
        lines.append(f"- [{row['record_date']} {row['channel']}{product} 심각도 {row['severity']}{flag}] "
                     f"{row['evidence']}")
    if len(rows) > MAX_EVIDENCE_LINES:
        lines.append(f"… and {len(rows) - MAX_EVIDENCE_LINES} more in the warehouse (pain_points).")
    return subject, "\n".join(lines)


class DeliveryError(RuntimeError):
    """A delivery failed; the message never contains the webhook URL, which is itself a secret."""


def deliver(channel: WebhookChannel | EmailChannel, subject: str, body: str, timeout_s: float) -> None:
    """One alert: a webhook gets the body as Slack text (`chat_text`), e-mail as plain text."""
    if isinstance(channel, WebhookChannel):
        url = resolve_secret(channel.url_env, channel.url_secret)
        try:
            httpx.post(url, json={"text": chat_text(body)}, timeout=timeout_s).raise_for_status()
        except httpx.HTTPStatusError as exc:
            raise DeliveryError(f"webhook answered HTTP {exc.response.status_code}") from None
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook unreachable: {type(exc).__name__}") from None
        return
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.recipients)
    message.set_content(body)
    with smtplib.SMTP(channel.smtp_host, channel.smtp_port, timeout=timeout_s) as smtp:
        if channel.starttls:
            smtp.starttls()
        if channel.username_env:
            smtp.login(resolve_secret(channel.username_env, None), resolve_secret(channel.password_env, None))
        smtp.send_message(message)


def deliver_with_retries(config: AlertConfig, channel: WebhookChannel | EmailChannel, subject: str,
                         body: str) -> tuple[int, str | None]:
    """(attempts, error or None); the error names the failure, never a credential."""
    error = None
    for attempt in range(1, config.retries + 2):
        try:
            deliver(channel, subject, body, config.timeout_s)
            return attempt, None
        except (DeliveryError, OSError, smtplib.SMTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("alert delivery attempt %d failed: %s", attempt, error)
            if attempt <= config.retries:
                time.sleep(config.backoff_s * 2 ** (attempt - 1))
    return config.retries + 1, error


def warn_of_unseen_products(engine: Engine, rule: Rule) -> None:
    """A product name spelled unlike the source's (a typo, another store's naming) matches nothing,
    silently: say so."""
    with engine.connect() as conn:
        seen = set(conn.execute(select(feedback.c.product).distinct()
                                .where(feedback.c.product.in_(rule.when.products))).scalars())
    if unseen := [product for product in rule.when.products if product not in seen]:
        log.warning("alert rule %s names products no mined text has: %s", rule.name, ", ".join(unseen))


def send_alerts(engine: Engine, config: AlertConfig, taxonomy: Taxonomy, window: Window,
                sources: Sequence[str], run_id: str) -> dict[str, int]:
    """Send each rule's new pain points of the window; returns pain points delivered per rule."""
    rows = pain_rows(engine, window, sources)
    delivered = {}
    for rule in config.rules:
        if rule.when.products:
            warn_of_unseen_products(engine, rule)
        sent = already_sent(engine, rule.name)
        new = [row for row in rows if rule.when.matches(row) and row["pain_point_id"] not in sent]
        if not new:
            delivered[rule.name] = 0
            continue
        subject, body = compose(rule, new, taxonomy)
        attempts, error = deliver_with_retries(config, config.channels[rule.send_to], subject, body)
        now = datetime.now(UTC)
        ids = [row["pain_point_id"] for row in new]
        with engine.begin() as conn:
            conn.execute(alerts.delete().where(alerts.c.rule == rule.name, alerts.c.pain_point_id.in_(ids)))
            insert_rows(conn, alerts, [
                {"rule": rule.name, "pain_point_id": pid, "channel": rule.send_to,
                 "status": "failed" if error else "sent", "attempts": attempts, "error": error,
                 "run_id": run_id, "updated_at": now}
                for pid in ids
            ])
        delivered[rule.name] = 0 if error else len(new)
        if error:
            log.error("alert rule %s: delivery to %s failed after %d attempts: %s", rule.name, rule.send_to,
                      attempts, error)
    return delivered
