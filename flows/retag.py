"""Re-tag: apply the current taxonomy (and models) to a window of history stored in the warehouse."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from pydantic import Field

from flows.nightly import cached_pipeline
from pipeline.config import load_config
from pipeline.insights.emerging import write_emerging
from pipeline.warehouse.retag import replace_mined, stored_items
from pipeline.warehouse.schema import connect, ensure_schema
from pipeline.window import trailing_window


@flow(name="sori-retag")
def retag(
    days: Annotated[int, Field(ge=1, le=3660)] = 90,
    end: date | None = None,
    sources: list[str] | None = None,
    config_path: str | None = None,
) -> int:
    """Re-mine stored feedback with the current taxonomy after it changed, so trends stay comparable.

    Args:
        days: Days of history to re-tag, ending at `end`.
        end: Last local date to re-tag; empty means yesterday.
        sources: Source names to re-tag; empty means all.
        config_path: sori config YAML; empty means configs/sori.yaml or $SORI_CONFIG.
    """
    config = load_config(config_path)
    window = trailing_window(days, config.tz, end)
    engine = connect(config.warehouse.sqlalchemy_url())
    ensure_schema(engine)
    items, chats = stored_items(engine, window, sources)
    pipeline = cached_pipeline(config_path)
    docs = pipeline(items, chats, batch_size=config.runner.batch_size)
    run_id = str(flow_run.get_id() or uuid.uuid4())
    written = replace_mined(engine, docs, run_id, pipeline.model_version, config.warehouse.store_raw_text)
    flags = write_emerging(engine, window, config.emerging)
    get_run_logger().info("re-tagged %d texts of %s … %s: %d pain points, %d emerging flags", len(docs),
                          window.start, window.end, written, flags)
    return written
