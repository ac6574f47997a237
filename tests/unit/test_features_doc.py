"""docs/features.md is generated from the feature registry and kept up to date."""

from __future__ import annotations

from pathlib import Path

from postloan.batch.steps.features import FEATURE_NAMES
from postloan.risk.features_doc import feature_texts, features_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "features.md"


def test_docs_features_md_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == features_markdown(), (
        "regenerate: python -m postloan.risk.features_doc > docs/features.md"
    )


def test_every_feature_documented_with_texts() -> None:
    page = features_markdown()
    texts = feature_texts()
    for name in FEATURE_NAMES:
        assert f"`{name}`" in page
        assert texts[name]["zh-CN"] and texts[name]["en"]
