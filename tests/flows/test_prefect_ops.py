"""Operations for real: a Prefect server on loopback (its database on the local PostgreSQL, as
recommended for concurrent runs), `sori serve` in another process, and a flow run created through
the API exactly as the UI's "Run" button does; plus the Dask task runner against the default one."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.flows.test_flow import SAMPLE_WINDOW, table, write_config

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
SERVER_START_TIMEOUT = 180
RUN_TIMEOUT = 420


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


@pytest.fixture
def prefect_server(tmp_path, postgres_url):
    """A real Prefect API server on loopback whose own database is a fresh PostgreSQL database."""
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    name = f"prefect_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = postgres_url.rsplit("/", 1)[0].replace("+psycopg", "+asyncpg") + f"/{name}"
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"),
           "PREFECT_API_DATABASE_CONNECTION_URL": db_url, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_UI_ENABLED": "false", "PREFECT_API_URL": f"http://127.0.0.1:{port}/api"}
    with open(tmp_path / "server.log", "w") as log:
        server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                                   "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, "the Prefect server did not start in time"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        yield env
    finally:
        stop(server)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


async def run_like_the_ui(api_url: str, start: str, end: str) -> str:
    """What the UI's Run button does: create a flow run from the deployment, then wait for it."""
    from prefect.client.orchestration import PrefectClient

    async with PrefectClient(api_url) as client:
        deadline = time.monotonic() + 120
        while True:
            try:
                deployment = await client.read_deployment_by_name("sori-mine-window/nightly")
                break
            except Exception:  # noqa: BLE001 - not registered yet by `sori serve`
                assert time.monotonic() < deadline, "sori serve did not register its deployments"
                await asyncio.sleep(2)
        run = await client.create_flow_run_from_deployment(deployment.id, parameters={"start": start,
                                                                                       "end": end})
        deadline = time.monotonic() + RUN_TIMEOUT
        while True:
            state = (await client.read_flow_run(run.id)).state
            if state is not None and state.is_final():
                return state.type.value
            assert time.monotonic() < deadline, f"flow run still {state.type.value if state else None}"
            await asyncio.sleep(2)


def test_a_served_deployment_runs_when_started_through_the_api(prefect_server, tmp_path):
    config_path = write_config(tmp_path)
    with open(tmp_path / "serve.log", "w") as log:
        serving = subprocess.Popen([str(Path(sys.executable).parent / "sori"), "--config", str(config_path),
                                    "serve"], env=prefect_server, cwd=REPO, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        final = asyncio.run(run_like_the_ui(prefect_server["PREFECT_API_URL"], str(SAMPLE_WINDOW[0]),
                                            str(SAMPLE_WINDOW[1])))
    finally:
        stop(serving)
    assert final == "COMPLETED", (tmp_path / "serve.log").read_text()[-5000:]
    url = f"duckdb:///{tmp_path / 'sori.duckdb'}"
    runs = table(url, "runs")
    assert [r["status"] for r in runs] in (["ok"], ["warning"])
    assert table(url, "pain_points")


def test_dask_runner_writes_the_same_warehouse_as_the_default_runner(tmp_path):
    from prefect.testing.utilities import prefect_test_harness

    from flows.nightly import mine_window

    contents = {}
    with prefect_test_harness(server_startup_timeout=120):
        for kind in ("threads", "dask"):
            directory = tmp_path / kind
            directory.mkdir()
            config_path = write_config(directory, runner={"kind": kind, "workers": 2, "batch_size": 64},
                                       topic_dir=tmp_path / "shared-topics")
            mine_window(start=SAMPLE_WINDOW[0], end=SAMPLE_WINDOW[0], config_path=str(config_path))
            url = f"duckdb:///{directory / 'sori.duckdb'}"
            contents[kind] = sorted(
                tuple(v for k, v in row.items() if k != "run_id") for row in table(url, "pain_points")
            )
    assert contents["threads"], "the window must have pain points to compare"
    assert contents["dask"] == contents["threads"]
