"""The synthetic loan book: borrowers, their contacts and their loans.

Vectorised over loans with numpy; one borrower per loan. The latent risk of each
borrower starts at a persistent mean ``mu`` built from what an underwriter sees
(product, pricing, income, employment, channel, region) plus an officer's
origination quality and an unobserved part; ``behaviour`` lets it drift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import polars as pl

from postloan.domain.errors import ConfigError
from postloan.sim.calendar import SimCalendar
from postloan.sim.config import SimConfig
from postloan.sim.identity import PROVINCES, addresses, names, national_ids, phones

__all__ = ["Book", "build_book"]

RATE_SCALE = 10_000  # annual rates carry 4 decimals (0.1248)


@dataclass
class Book:
    """Per-loan arrays (index i = loan i = borrower i) and the category names they index."""

    n: int
    products: list[str]
    regions: list[str]
    employments: list[str]
    channels: list[str]
    methods: list[str]
    product: np.ndarray  # int, index into products
    method: np.ndarray  # int, index into methods
    day_count: list[str]  # per product
    term: np.ndarray  # int32
    principal: np.ndarray  # int64 fen
    rate_num: np.ndarray  # int64, annual rate × 10_000
    orig_month: np.ndarray  # int32, month index of disbursement
    disb_day: np.ndarray  # int32, 1..27
    region: np.ndarray
    officer: np.ndarray
    branch: np.ndarray
    channel: np.ndarray
    employment: np.ndarray
    income: np.ndarray  # int64 fen a month
    birth: np.ndarray  # int64 yyyymmdd
    english: np.ndarray  # bool
    dark: np.ndarray  # bool: goes dark when delinquent
    mu: np.ndarray  # float64 persistent latent risk
    width: int  # digits of the loan / borrower numbers


def _weights(spec: dict[str, float], what: str) -> tuple[list[str], np.ndarray]:
    keys = [str(k) for k in spec]
    w = np.array([float(v) for v in spec.values()], dtype=np.float64)
    if len(keys) == 0 or (w < 0).any() or w.sum() <= 0:
        raise ConfigError(f"{what} needs at least one category with a positive share")
    return keys, w / w.sum()


def _choice(rng: np.random.Generator, p: np.ndarray, n: int) -> np.ndarray:
    return np.searchsorted(np.cumsum(p), rng.random(n) * (1 - 1e-12), side="right")


def build_book(cfg: SimConfig, cal: SimCalendar, rng: np.random.Generator, loans: int) -> Book:
    """Draw ``loans`` loans (and their borrowers) for the calendar ``cal``."""
    n = loans
    regions, region_p = _weights(cfg["regions"], "regions")
    for r in regions:
        if r not in PROVINCES:
            raise ConfigError(
                f"region {r!r} is not a supported province code; use one of {sorted(PROVINCES)}"
            )
    bcfg = cfg["borrowers"]
    employments, emp_p = _weights(bcfg["employment"], "borrowers.employment")
    channels, ch_p = _weights(bcfg["channel"], "borrowers.channel")
    products, prod_p = _weights({k: v["share"] for k, v in cfg["products"].items()}, "products")
    methods = ["annuity", "equal_principal", "interest_only", "bullet", "flat"]

    product = _choice(rng, prod_p, n)
    term = np.zeros(n, dtype=np.int32)
    method = np.zeros(n, dtype=np.int64)
    principal = np.zeros(n, dtype=np.int64)
    rate_num = np.zeros(n, dtype=np.int64)
    risk = np.zeros(n, dtype=np.float64)
    day_count = []
    for p, name in enumerate(products):
        spec = cfg["products"][name]
        idx = np.flatnonzero(product == p)
        k = len(idx)
        terms, tp = _weights({str(t): w for t, w in spec["terms"].items()}, f"{name}.terms")
        term[idx] = np.array([int(t) for t in terms], dtype=np.int32)[_choice(rng, tp, k)]
        mnames, mp = _weights(spec["methods"], f"{name}.methods")
        for m in mnames:
            if m not in methods:
                raise ConfigError(f"products.{name}.methods: unknown method {m!r}; use {methods}")
        method[idx] = np.array([methods.index(m) for m in mnames])[_choice(rng, mp, k)]
        amount = float(spec["amount_median"]) * np.exp(
            float(spec["amount_sigma"]) * rng.standard_normal(k)
        )
        amount = np.clip(amount, float(spec["amount_min"]), float(spec["amount_max"]))
        principal[idx] = (
            np.round(amount / 100).astype(np.int64) * 100 * 100
        )  # whole 100 CNY, in fen
        lo = int(Decimal(str(spec["rate_min"])) * RATE_SCALE)
        hi = int(Decimal(str(spec["rate_max"])) * RATE_SCALE)
        if not 0 <= lo <= hi <= RATE_SCALE:
            raise ConfigError(f"products.{name}: need 0 <= rate_min <= rate_max <= 1")
        # Riskier borrowers are priced higher: the rate rises with the unobserved quality draw.
        quality = rng.standard_normal(k)
        u = 1 / (1 + np.exp(-1.2 * quality - 0.6 * rng.standard_normal(k)))
        rate_num[idx] = lo + np.round(u * (hi - lo) / 4).astype(np.int64) * 4
        mid = (lo + hi) / 2 / RATE_SCALE
        rcfg = cfg["risk"]
        risk[idx] = (
            float(spec["risk"])
            + float(rcfg["rate_loading"]) * (rate_num[idx] / RATE_SCALE - mid)
            + float(rcfg["initial_sd"]) * 0.6 * quality
        )
        day_count.append(str(spec["day_count"]))

    # Organisation: branches sit in a region; officers in a branch.
    ocfg = cfg["organisation"]
    n_officers = max(5, math.ceil(n / int(ocfg["loans_per_officer"])))
    per_branch = int(ocfg["officers_per_branch"])
    n_branches = max(1, math.ceil(n_officers / per_branch))
    branch_region = _choice(rng, region_p, n_branches)
    officer_effect = float(ocfg["officer_quality_sd"]) * rng.standard_normal(n_officers)
    for officer_id, effect in (ocfg.get("officer_quality") or {}).items():
        # a fixed origination quality for named officers (tests, what-if runs); the draw
        # above still happens so the rest of the book is unchanged
        index = int(str(officer_id).lstrip("O")) - 1
        if not 0 <= index < n_officers:
            raise ConfigError(f"organisation.officer_quality: no officer {officer_id!r}")
        officer_effect[index] = float(effect)
    region_effect = float(cfg["macro"]["region_sd"]) * rng.standard_normal(len(regions))
    # Each loan: a region, then a branch of that region (or any), then an officer of it.
    region = _choice(rng, region_p, n)
    branch = rng.integers(0, n_branches, n)
    has_branch = np.bincount(branch_region, minlength=len(regions)) > 0
    order = np.argsort(branch_region, kind="stable")
    starts = np.searchsorted(branch_region[order], np.arange(len(regions)))
    counts = np.bincount(branch_region, minlength=len(regions))
    pick = starts[region] + (rng.random(n) * np.maximum(counts[region], 1)).astype(np.int64)
    branch = np.where(has_branch[region], order[np.minimum(pick, n_branches - 1)], branch)
    region = branch_region[branch]
    branch_officers = np.minimum(per_branch, n_officers - branch * per_branch)
    officer = branch * per_branch + (rng.random(n) * branch_officers).astype(np.int64)

    employment = _choice(rng, emp_p, n)
    channel = _choice(rng, ch_p, n)
    emp_risk = np.array([float(bcfg["employment_risk"].get(e, 0.0)) for e in employments])
    ch_risk = np.array([float(bcfg["channel_risk"].get(c, 0.0)) for c in channels])
    log_inc = float(bcfg["income_sigma"]) * rng.standard_normal(n)
    income = (np.round(float(bcfg["income_median"]) * np.exp(log_inc) / 10) * 10 * 100).astype(
        np.int64
    )
    age = rng.integers(int(bcfg["age_min"]), int(bcfg["age_max"]) + 1, n)
    orig_month = (rng.random(n) * cal.origination_months).astype(np.int32)
    disb_day = rng.integers(1, 28, n).astype(np.int32)  # due days 1-27: before every month-end
    year = cal.year_of(orig_month) - age
    birth = year.astype(np.int64) * 10000 + rng.integers(1, 13, n) * 100 + rng.integers(1, 29, n)
    english = rng.random(n) < float(bcfg["english_share"])
    dark = rng.random(n) < float(cfg["behaviour"]["lost_contact_share"])
    rcfg = cfg["risk"]
    mu = (
        risk
        + officer_effect[officer]
        + region_effect[region]
        + emp_risk[employment]
        + ch_risk[channel]
        + float(rcfg["income_loading"]) * log_inc
        + float(rcfg["initial_sd"]) * 0.8 * rng.standard_normal(n)
    )
    return Book(
        n=n,
        products=products,
        regions=regions,
        employments=employments,
        channels=channels,
        methods=methods,
        product=product,
        method=method,
        day_count=day_count,
        term=term,
        principal=principal,
        rate_num=rate_num,
        orig_month=orig_month,
        disb_day=disb_day,
        region=region,
        officer=officer,
        branch=branch,
        channel=channel,
        employment=employment,
        income=income,
        birth=birth,
        english=english,
        dark=dark,
        mu=mu,
        width=max(6, len(str(n))),
    )


def ids(prefix: str, n: int, width: int) -> pl.Series:
    return prefix + pl.Series(np.arange(1, n + 1, dtype=np.int64)).cast(pl.String).str.zfill(width)


def rate_text(rate_num: np.ndarray) -> pl.Series:
    """Annual rates as decimal fractions with 4 places ('0.1248')."""
    return "0." + pl.Series(rate_num).cast(pl.String).str.zfill(4)


def loans_frame(book: Book, cal: SimCalendar, currency: str) -> pl.DataFrame:
    """The typed loans frame (feed columns; principal in minor units) for the schedule kernel."""
    disb = cal.month_start[book.orig_month] + book.disb_day - 1
    region_codes = pl.Series(book.regions, dtype=pl.String)
    branch_names = (
        region_codes.gather(book.region).str.replace("CN-", "BR")
        + "-"
        + pl.Series(book.branch).cast(pl.String).str.zfill(3)
    )
    return pl.DataFrame(
        {
            "loan_id": ids("L", book.n, book.width),
            "borrower_id": ids("B", book.n, book.width),
            "product": pl.Series(book.products, dtype=pl.String).gather(book.product),
            "principal": pl.Series(book.principal, dtype=pl.Int64),
            "annual_rate": rate_text(book.rate_num),
            "term": pl.Series(book.term, dtype=pl.Int32),
            "frequency": pl.repeat("monthly", book.n, eager=True, dtype=pl.String),
            "day_count": pl.Series(book.day_count, dtype=pl.String).gather(book.product),
            "method": pl.Series(book.methods, dtype=pl.String).gather(book.method),
            "disbursement_date": pl.Series(disb.astype(np.int32)).cast(pl.Date),
            "officer_id": "O" + pl.Series(book.officer + 1).cast(pl.String).str.zfill(5),
            "branch": branch_names,
            "currency": pl.repeat(currency, book.n, eager=True, dtype=pl.String),
            "fee_per_period": pl.zeros(book.n, dtype=pl.Int64, eager=True),
            "region": region_codes.gather(book.region),
            "channel": pl.Series(book.channels, dtype=pl.String).gather(book.channel),
        }
    )


def borrowers_frame(book: Book, rng: np.random.Generator, email_share: float) -> pl.DataFrame:
    area = np.array([int(PROVINCES[r][0]) for r in book.regions], dtype=np.int64)[book.region]
    bid = ids("B", book.n, book.width)
    has_email = pl.Series(rng.random(book.n) < email_share)
    email = "u" + pl.Series(rng.integers(10**7, 10**8, book.n)).cast(pl.String) + "@example.cn"
    region_codes = pl.Series(book.regions, dtype=pl.String)
    birth = pl.Series(book.birth).cast(pl.String).str.to_date("%Y%m%d")
    return pl.DataFrame(
        {
            "borrower_id": bid,
            "name": names(rng, book.english),
            "national_id": national_ids(rng, area, book.birth),
            "phone": phones(rng, book.n),
            "email": pl.select(pl.when(has_email).then(email).otherwise(None)).to_series(),
            "address": addresses(rng, book.regions, book.region),
            "region": region_codes.gather(book.region),
            "birth_date": birth,
            "monthly_income": book.income,
            "employment": pl.Series(book.employments, dtype=pl.String).gather(book.employment),
            "language": pl.Series(np.where(book.english, "en", "zh-CN")),
        }
    )


def contacts_frame(
    book: Book, borrowers: pl.DataFrame, rng: np.random.Generator, employer_share: float
) -> pl.DataFrame:
    """self (the borrower's phone), one emergency contact, and an employer for some."""
    n = book.n
    bid = borrowers["borrower_id"]
    rel = pl.Series(["配偶", "父母", "兄弟姐妹", "朋友", "同事"]).gather(rng.integers(0, 5, n))
    own = pl.DataFrame(
        {
            "borrower_id": bid,
            "kind": "self",
            "name": borrowers["name"],
            "phone": borrowers["phone"],
            "relation": pl.repeat("本人", n, eager=True),
        }
    )
    emergency = pl.DataFrame(
        {
            "borrower_id": bid,
            "kind": "emergency",
            "name": names(rng, np.zeros(n, dtype=bool)),
            "phone": phones(rng, n),
            "relation": rel,
        }
    )
    salaried = np.isin(
        book.employment,
        [i for i, e in enumerate(book.employments) if e in ("salaried", "civil_servant")],
    )
    emp = np.flatnonzero(salaried & (rng.random(n) < employer_share))
    company = pl.Series(["华信", "恒达", "中联", "东方", "瑞丰", "新世纪", "同创", "金桥"]).gather(
        rng.integers(0, 8, len(emp))
    ) + pl.Series(["科技有限公司", "贸易有限公司", "制造有限公司", "物流有限公司"]).gather(
        rng.integers(0, 4, len(emp))
    )
    employer = pl.DataFrame(
        {
            "borrower_id": bid.gather(emp),
            "kind": "employer",
            "name": company,
            "phone": phones(rng, len(emp)),
            "relation": pl.repeat("雇主", len(emp), eager=True),
        }
    )
    both = pl.concat([own, emergency, employer], how="vertical_relaxed")
    kind_order = pl.col("kind").replace_strict({"self": 0, "emergency": 1, "employer": 2})
    return both.sort([pl.col("borrower_id"), kind_order])
