"""Weekly topic refit: a new BERTopic model on a window of history, which the nightly runs then use.

Topics are matched to the previous model's, so their ids (and analyst labels) carry over; the log and
the returned report say what changed, how many outliers HDBSCAN left before and after they were
reduced, and how closely the saved model reproduces the fit.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from pydantic import Field

from flows.nightly import record_end
from pipeline.app import Sori
from pipeline.topics.model import RefitReport
from pipeline.window import trailing_window


@flow(name="sori-topic-refit", on_failure=[record_end("failed")], on_cancellation=[record_end("cancelled")],
      on_crashed=[record_end("crashed")])
def refit_topics(
    days: Annotated[int, Field(ge=7, le=730)] = 90,
    end: date | None = None,
    config_path: str | None = None,
) -> RefitReport:
    """Fit the topic model again on recent pain sentences, keeping the ids of topics that continue.

    Args:
        days: Days of history to fit on, ending at `end`.
        end: Last local date of the history window (in the configured time zone); empty means yesterday.
        config_path: sori config YAML; empty means configs/sori.yaml or $SORI_CONFIG.
    """
    sori = Sori.open(config_path)
    window = trailing_window(days, sori.config.tz, end)
    report = sori.refit_topics(window, str(flow_run.get_id() or uuid.uuid4()))
    logger = get_run_logger()
    logger.info("topic model %s fitted on %d pain sentences of %s … %s (previous: %s)", report.version,
                report.sentences, window.start, window.end, report.previous_version or "none")
    logger.info("topics by status: %s", ", ".join(f"{s} {n}" for s, n in sorted(report.statuses.items())))
    logger.info("outlier share: %.1f%% after HDBSCAN, %.1f%% after reduce_outliers, %.1f%% as assigned by "
                "the saved model", 100 * report.outliers_before, 100 * report.outliers_after,
                100 * report.outliers_assigned)
    logger.info("saved-and-loaded model agrees with the fit on %.1f%% of sentences", 100 * report.agreement)
    return report
