"""Re-tag: apply the current taxonomy (and models) to a window of history stored in the warehouse."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from pydantic import Field

from flows.nightly import REFUSALS, record_end, refused
from pipeline.app import Sori
from pipeline.config import load_config
from pipeline.window import trailing_window


@flow(name="sori-retag", on_failure=[record_end("failed")], on_cancellation=[record_end("cancelled")],
      on_crashed=[record_end("crashed")])
def retag(
    days: Annotated[int, Field(ge=1, le=3660)] = 90,
    end: date | None = None,
    sources: list[str] | None = None,
    config_path: str | None = None,
) -> int:
    """Re-mine stored feedback with the current taxonomy after it changed, so trends stay comparable.

    Args:
        days: Days of history to re-tag, ending at `end`.
        end: Last local date to re-tag (in the configured time zone); empty means yesterday.
        sources: Source names to re-tag; empty means all.
        config_path: sori config YAML; empty means configs/sori.yaml or $SORI_CONFIG.
    """
    try:
        config = load_config(config_path)
        config.requested_sources(sources)
    except REFUSALS as exc:
        return refused(exc)
    sori = Sori.open(config_path)
    window = trailing_window(days, config.tz, end)
    texts, written, flags = sori.retag(window, sources, str(flow_run.get_id() or uuid.uuid4()))
    get_run_logger().info("re-tagged %d texts of %s … %s: %d pain points, %d emerging flags", texts,
                          window.start, window.end, written, flags)
    return written
