"""Records from a SQL table or query, through SQLAlchemy Core: any database SQLAlchemy speaks.

Every value is a bound parameter and every name goes through SQLAlchemy's quoting; rows stream in
batches, so a large table is never held in memory by the reader.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, FromClause, column, create_engine, literal_column, select
from sqlalchemy import table as table_clause
from sqlalchemy import text as text_clause
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from pipeline.config import SourceColumns, SqlReaderConfig
from pipeline.ingest.readers import RawRecord, SourceReadError
from pipeline.ingest.values import plain_value, record_key
from pipeline.secrets import SecretNotFoundError, resolve_secret
from pipeline.window import Window

log = logging.getLogger(__name__)


class SqlReader:
    """Rows of a table or query in a window of `timestamp_column`, or changed after `since`.

    With `group_by` (a chat source's conversation id), every row of a group that has any row in the
    window is read, so a conversation that crosses midnight reaches the kind whole, never in part.
    """

    def __init__(self, config: SqlReaderConfig, columns: SourceColumns, name: str = "sql",
                 group_by: str | None = None):
        self.config = config
        self.columns = columns
        self.name = name
        self.group_by = group_by

    def records(
        self, window: Window | None, tz: ZoneInfo, since: datetime | None = None
    ) -> Iterator[RawRecord]:
        url = self._url()
        safe_url = make_url(url).render_as_string(hide_password=True)
        try:
            engine = create_engine(url, poolclass=NullPool)
        except (SQLAlchemyError, ImportError) as exc:  # an unknown dialect or a driver not installed
            raise SourceReadError(self._describe(exc, url, safe_url)) from None
        try:
            with engine.connect() as conn:
                statement = self._statement(conn, window, tz, since)
                stream = conn.execution_options(stream_results=True, yield_per=self.config.batch_size)
                prefix = self.config.table or "query"
                seen: Counter[str] = Counter()
                for row in stream.execute(statement):
                    fields = {str(key): plain_value(value) for key, value in row._mapping.items()}
                    record_id = record_key(fields.get(self.columns.id)) or ""
                    seen[record_id] += 1
                    # A repeated id gets its own location, so the kind can tell the rows apart.
                    suffix = f"#{seen[record_id]}" if seen[record_id] > 1 else ""
                    yield RawRecord(f"{prefix}#{record_id}{suffix}", fields)
        except (SQLAlchemyError, ImportError) as exc:
            raise SourceReadError(self._describe(exc, url, safe_url)) from None
        finally:
            engine.dispose()

    def _url(self) -> str:
        try:
            url = resolve_secret(self.config.url_env, self.config.secret)
        except SecretNotFoundError as exc:
            raise SourceReadError(f"source {self.name!r}: database URL: {exc}") from None
        try:
            make_url(url)
        except ArgumentError:
            where = self.config.url_env or self.config.secret
            raise SourceReadError(
                f"source {self.name!r}: the database URL in {where!r} is not a SQLAlchemy URL"
            ) from None
        return url

    def _from(self, alias: str) -> FromClause:
        """The table or the query as a subquery, with the columns sori filters and orders on."""
        names = dict.fromkeys(
            name for name in (self.config.timestamp_column, self.columns.id, self.columns.updated_at,
                              self.group_by) if name
        )
        if self.config.query is not None:
            query = self.config.query.strip().rstrip(";")
            return text_clause(query).columns(*(column(n) for n in names)).subquery(alias)
        assert self.config.table is not None
        schema, _, name = self.config.table.rpartition(".")
        return table_clause(name, *(column(n) for n in names), schema=schema or None).alias(alias)

    def _statement(self, conn: Connection, window: Window | None, tz: ZoneInfo,
                   since: datetime | None) -> Any:
        source = self._from("src")
        if since is not None and not self.columns.updated_at:
            log.warning("source %r has no columns.updated_at: an incremental pull reads every row",
                        self.name)
        scan = self._from("scan") if self.group_by else source
        conditions: list[ColumnElement[bool]] = []
        if window is not None:
            timestamp = scan.c[self.config.timestamp_column]
            aware = _is_zone_aware(conn, timestamp)
            start, end = (_as_column_compares(at, aware, tz) for at in window.bounds(tz))
            conditions += [timestamp >= start, timestamp < end]
        if since is not None and self.columns.updated_at:
            updated = scan.c[self.columns.updated_at]
            conditions.append(updated > _as_column_compares(since, _is_zone_aware(conn, updated), tz))
        if self.group_by and conditions:
            conditions = [source.c[self.group_by].in_(select(scan.c[self.group_by]).where(*conditions))]
        return (
            select(literal_column("*"))
            .select_from(source)
            .where(*conditions)
            .order_by(source.c[self.config.timestamp_column], source.c[self.columns.id])
        )

    def _describe(self, exc: BaseException, url: str, safe_url: str) -> str:
        """The driver's own first line, which names the missing table or column, minus credentials."""
        cause = getattr(exc, "orig", None) or exc
        detail = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        what = f"table {self.config.table!r}" if self.config.table else "the query"
        message = f"source {self.name!r}: cannot read {what} from {safe_url}: {detail}"
        password = make_url(url).password
        message = message.replace(url, safe_url)
        return message.replace(str(password), "***") if password else message


def _is_zone_aware(conn: Connection, timestamp: ColumnElement[Any]) -> bool:
    """Whether the column holds zone-aware instants, seen from one value: a dialect-neutral test
    that works for tables and queries alike."""
    sample = conn.execute(select(timestamp).where(timestamp.is_not(None)).limit(1)).scalar()
    return isinstance(sample, datetime) and sample.tzinfo is not None


def _as_column_compares(instant: datetime, aware: bool, tz: ZoneInfo) -> datetime:
    """Aware for a zone-aware column; otherwise the wall-clock time in `tz`, because the kinds read
    naive times as local to `tz` too."""
    instant = instant.replace(tzinfo=tz) if instant.tzinfo is None else instant
    return instant if aware else instant.astimezone(tz).replace(tzinfo=None)
