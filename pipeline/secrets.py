"""Credentials for sources: from the environment or a Prefect Secret block, never from YAML.

Only names are ever put in messages; the values stay out of logs, exceptions and reprs.
"""

from __future__ import annotations

import os


class SecretNotFoundError(LookupError):
    """No value under any of the names the config gave."""


def resolve_secret(env: str | None, block: str | None) -> str:
    """The environment variable first (local runs, CI), else the Prefect Secret block (deployments).

    Prefect is imported only when a block is needed, so the NLP core runs without a Prefect server.
    """
    if env and os.environ.get(env):
        return os.environ[env]
    if block:
        from prefect.blocks.system import Secret

        try:
            value = Secret.load(block).get()
        except Exception as exc:  # noqa: BLE001 - no server, no block, no access: all mean "not found"
            looked = f"environment variable {env!r} is not set and " if env else ""
            raise SecretNotFoundError(
                f"{looked}Prefect Secret block {block!r} cannot be loaded ({type(exc).__name__})"
            ) from exc
        if value:
            return str(value)
    names = [f"environment variable {env!r}"] if env else []
    names += [f"Prefect Secret block {block!r}"] if block else []
    raise SecretNotFoundError(f"no secret found in {' or '.join(names) or 'nothing configured'}")
