"""Where the development corpora live: `$SORI_SHARED_DATA`, else `<repo>/../shared/data`.

Evaluation and training scripts read them; the project itself runs without them, so a script that
needs them fails early with a message naming the folder and what was missing, never a traceback from
deep inside pandas.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


class SharedDataMissing(FileNotFoundError):
    """The development corpora are absent: a script needs them, the project does not."""


def shared_data_root() -> Path:
    return Path(os.environ.get("SORI_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")


def require(files: Iterable[str | Path], what: str) -> Path:
    """The corpora folder, once every file (relative to it) is there."""
    root = shared_data_root()
    files = [Path(f) for f in files]
    missing = [str(f) for f in files if not (root / f).is_file()]
    if missing:
        folders = ", ".join(sorted({f"{f.parts[0]}/" for f in files}))
        raise SharedDataMissing(f"{what} not found at {root} (missing {', '.join(missing)}). Set "
                                f"SORI_SHARED_DATA to the folder that holds {folders}.")
    return root
