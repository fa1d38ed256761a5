"""The shipped VOC model: small enough to ship, documented, and trained on today's taxonomy."""

from __future__ import annotations

from models.voc import BUILTIN_VOC, SETTINGS_FILE, WEIGHTS_FILE, VocSettings, resolve_voc
from pipeline.config import load_config

MAX_WEIGHTS_MB = 30


def test_the_builtin_model_is_shipped_small_with_its_card() -> None:
    directory = resolve_voc(BUILTIN_VOC)
    assert (directory / WEIGHTS_FILE).stat().st_size < MAX_WEIGHTS_MB * 2**20
    card = (directory / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "## Training run" in card and "## Evaluation" in card and "## Limits" in card
    assert (directory / SETTINGS_FILE).is_file() and (directory / "training_run.json").is_file()


def test_the_builtin_model_knows_the_taxonomys_keys() -> None:
    """A key the model was trained on that the taxonomy no longer has would be ignored; a taxonomy key
    it lacks is tagged by the editable layer alone. The shipped model and taxonomy agree on both."""
    settings = VocSettings.read(resolve_voc(BUILTIN_VOC))
    taxonomy = load_config().load_taxonomy()
    assert settings.categories == list(taxonomy.categories)
    assert settings.touchpoints == list(taxonomy.touchpoints)
    assert settings.taxonomy_version == taxonomy.version
