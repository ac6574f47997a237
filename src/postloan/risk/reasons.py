"""Reason codes: the top 3 features that push a loan's risk up, in plain language.

The drivers come from the model (LightGBM contributions toward the log-odds of
the event, or scorecard points below the best a feature can score); this module
ranks them and names them. A loan may ask why an automated decision was made
(PIPL art. 24), so every feature has a zh-CN and an en sentence;
``register_feature_text`` adds them for the behavioural features, and a feature
without one falls back to a generic sentence that names it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl

__all__ = [
    "FEATURE_TEXT",
    "LANGS",
    "REASONS",
    "reason_columns",
    "reason_text",
    "register_feature_text",
    "top_drivers",
    "top_of_block",
]

LANGS = ("zh-CN", "en")
BLOCK = 16384
REASONS = 3

#: feature → {"zh-CN": …, "en": …}; extended by :func:`register_feature_text`.
FEATURE_TEXT: dict[str, dict[str, str]] = {
    "max_dpd_12m": {
        "zh-CN": "过去12个月最高逾期天数偏高",
        "en": "High maximum days past due in the last 12 months",
    },
    "dpd": {"zh-CN": "当前逾期天数偏高", "en": "Currently days past due"},
}

_FALLBACK = {"zh-CN": "指标“{name}”推高了风险", "en": "{name} raises the risk"}


def register_feature_text(name: str, zh: str, en: str) -> None:
    """Give feature ``name`` its plain-language reason text."""
    FEATURE_TEXT[name] = {"zh-CN": zh, "en": en}


def reason_text(name: str, lang: str = "zh-CN") -> str:
    """The sentence for feature ``name`` in ``lang`` (``zh-CN`` or ``en``)."""
    lang = lang if lang in LANGS else "zh-CN"
    texts = FEATURE_TEXT.get(name)
    if texts and lang in texts:
        return texts[lang]
    return _FALLBACK[lang].format(name=name)


def top_of_block(d: np.ndarray, k: int = REASONS) -> np.ndarray:
    """:func:`top_drivers` of one cache-sized block (m × p float32, C order; changed
    in place): ``k`` passes of argmax (the first of equal maxima, so ties go to the
    earlier feature) beat a partial sort of every row."""
    m, p = d.shape
    out = np.full((m, k), -1, dtype=np.int64)
    rows = np.arange(m)
    for j in range(min(k, p)):
        best = np.argmax(d, axis=1)
        value = d[rows, best]
        out[:, j] = np.where(value > 0, best, -1)
        d[rows, best] = -np.inf
    return out


def top_drivers(drivers: np.ndarray, k: int = REASONS) -> np.ndarray:
    """Column indices of the ``k`` largest positive entries of each row of ``drivers``
    (n × p), largest first; ``-1`` where fewer than ``k`` entries are positive.
    Ties go to the earlier feature."""
    n, p = drivers.shape
    out = np.full((n, k), -1, dtype=np.int64)
    if p == 0 or n == 0:
        return out

    def block(lo: int) -> None:
        d = np.nan_to_num(drivers[lo : lo + BLOCK].astype(np.float32, order="C"), nan=0.0)
        out[lo : lo + d.shape[0]] = top_of_block(d, k)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(block, range(0, n, BLOCK)))
    return out


def reason_columns(index: np.ndarray, features: list[str], lang: str) -> list[pl.Series]:
    """``reason_1..k`` (feature names) and ``reason_text_1..k`` from :func:`top_drivers`."""
    names = pl.Series("name", features, dtype=pl.Utf8)
    texts = pl.Series("text", [reason_text(f, lang) for f in features], dtype=pl.Utf8)
    cols: list[pl.Series] = []
    text_cols: list[pl.Series] = []
    for j in range(index.shape[1]):
        idx = pl.Series(index[:, j]).cast(pl.Int64)
        idx = pl.select(pl.when(idx >= 0).then(idx)).to_series()
        cols.append(names.gather(idx).alias(f"reason_{j + 1}"))
        text_cols.append(texts.gather(idx).alias(f"reason_text_{j + 1}"))
    return cols + text_cols
