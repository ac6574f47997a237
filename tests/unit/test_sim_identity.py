"""Synthetic identities look valid: national id check digits, mobiles, names, addresses."""

from __future__ import annotations

import re

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from postloan.sim import SimConfig, simulate
from postloan.sim.identity import id_check_char, national_ids


def test_book_identities_are_valid() -> None:
    res = simulate(SimConfig.default(), loans=400, months=2, seed=5)
    b = res.borrowers
    ids = b["national_id"].to_list()
    assert all(len(x) == 18 and x[:17].isdigit() for x in ids)
    assert all(id_check_char(x[:17]) == x[17] for x in ids)
    # the birth date in the id is the borrower's birth date
    births = b["birth_date"].dt.strftime("%Y%m%d").to_list()
    assert [x[6:14] for x in ids] == births
    assert b["phone"].str.contains(r"^1[3-9]\d{9}$").all()
    assert b["name"].str.len_chars().min() >= 2
    assert b["region"].str.contains(r"^CN-\d\d$").all()
    assert set(b["language"].unique()) <= {"zh-CN", "en"}
    assert b.filter(pl.col("language") == "zh-CN").height > 0.9 * b.height
    kinds = res.contacts.group_by("kind").len()
    counts = dict(zip(kinds["kind"], kinds["len"], strict=True))
    assert counts["self"] == counts["emergency"] == 400
    assert 0 < counts.get("employer", 0) < 400
    assert all(re.search("[省市]", a) for a in b["address"].to_list())


@settings(max_examples=50)
@given(st.integers(110000, 659999), st.dates(), st.integers(0, 2**32 - 1))
def test_check_character_matches_the_reference(area: int, born: object, seed: int) -> None:
    rng = np.random.Generator(np.random.PCG64(seed))
    yyyymmdd = int(born.strftime("%Y%m%d"))  # type: ignore[attr-defined]
    out = national_ids(rng, np.array([area]), np.array([yyyymmdd]))[0]
    assert out[:6] == str(area) and out[6:14] == f"{yyyymmdd:08d}"
    assert out[17] == id_check_char(out[:17])


def test_known_id_check_character() -> None:
    # GB 11643-1999's worked example: 11010519491231002X
    assert id_check_char("11010519491231002") == "X"
