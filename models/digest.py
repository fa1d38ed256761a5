"""The spec rows and fitted heads record for a model whose weights change under one name."""

from __future__ import annotations

import hashlib
from pathlib import Path


def weights_spec(name: str, weights_file: Path) -> str:
    """`name@<first 8 hex digits of the weights file's sha256>` (`builtin:voc-e5@1a2b3c4d`): a builtin's
    weights change between releases under one name, and rows must say which weights made them."""
    with open(weights_file, "rb") as fh:
        return f"{name}@{hashlib.file_digest(fh, 'sha256').hexdigest()[:8]}"
