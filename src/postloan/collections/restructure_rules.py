"""Restructuring rules (pure): the new schedule and the affordability check.

The new schedule comes from the servicing core (:func:`postloan.domain.schedule.generate_schedule`).
Instalments due before the effective date are kept as they are (their arrears stay
owed) unless the arrears are *capitalised*: then each kept instalment is cut to
what was paid on it, and the unpaid principal, interest, fee and the accrued
penalty become principal of the new schedule. The instalments due on or after the
effective date are replaced by new ones, numbered after the kept ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from postloan.domain.calendar import due_dates, step
from postloan.domain.errors import ValidationError
from postloan.domain.schedule import Instalment, LoanTerms, Method, generate_schedule


class RestructuringKind(StrEnum):
    EXTENSION = "extension"  # 展期: more periods
    DEFERRAL = "deferral"  # 延期: nothing due for N periods, then the same number of instalments
    REDUCED_INSTALMENT = "reduced_instalment"  # interest only for N periods
    RATE_REDUCTION = "rate_reduction"  # 降息
    CAPITALISATION = "capitalisation"  # arrears become principal


#: Default limit of the new instalment over the borrower's monthly income.
DEFAULT_MAX_DEBT_RATIO = Decimal("0.5")


@dataclass(frozen=True, slots=True)
class RestructuringRequest:
    kind: RestructuringKind
    effective_date: date
    periods: int = 0  # extension: added; deferral: deferred; reduced: interest-only periods
    new_rate: Decimal | None = None  # rate_reduction
    capitalise_arrears: bool = False

    @classmethod
    def parse(
        cls, kind: str, effective_date: date, params: Mapping[str, Any]
    ) -> RestructuringRequest:
        try:
            k = RestructuringKind(kind)
        except ValueError:
            known = ", ".join(RestructuringKind)
            raise ValidationError(f"unknown restructuring {kind!r}; use one of {known}") from None
        unknown = set(params) - {"periods", "new_rate", "capitalise_arrears"}
        if unknown:
            raise ValidationError(f"unknown restructuring parameters: {sorted(unknown)}")
        periods = params.get("periods", 0)
        if isinstance(periods, bool) or not isinstance(periods, int) or not 0 <= periods <= 120:
            raise ValidationError(f"periods is a whole number 0-120, not {periods!r}")
        if (
            k
            in (
                RestructuringKind.EXTENSION,
                RestructuringKind.DEFERRAL,
                RestructuringKind.REDUCED_INSTALMENT,
            )
            and periods < 1
        ):
            raise ValidationError(f"a {k} needs periods >= 1")
        rate = params.get("new_rate")
        new_rate = None
        if k is RestructuringKind.RATE_REDUCTION:
            if rate is None:
                raise ValidationError("a rate_reduction needs new_rate (a decimal, e.g. 0.08)")
            new_rate = Decimal(str(rate))
            if new_rate < 0:
                raise ValidationError(f"new_rate must not be negative: {new_rate}")
        capitalise = bool(params.get("capitalise_arrears", False))
        return cls(
            k,
            effective_date,
            periods,
            new_rate,
            capitalise or k is RestructuringKind.CAPITALISATION,
        )

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "periods": self.periods,
            "capitalise_arrears": self.capitalise_arrears,
        }
        if self.new_rate is not None:
            out["new_rate"] = str(self.new_rate)
        return out


@dataclass(frozen=True, slots=True)
class Arrears:
    """What the loan owes on the instalments due before the effective date."""

    remaining: Mapping[int, tuple[int, int, int]]  # seq -> (principal, interest, fee) unpaid
    penalty: int  # penalty outstanding

    @property
    def total(self) -> int:
        return sum(p + i + f for p, i, f in self.remaining.values()) + self.penalty


@dataclass(frozen=True, slots=True)
class RestructuringPlan:
    schedule: list[Instalment]
    new_principal: int
    capitalised: int
    instalment: int  # the largest regular new instalment (affordability)
    first_new_seq: int
    annual_rate: Decimal

    def summary(self) -> dict[str, Any]:
        new = [i for i in self.schedule if i.seq >= self.first_new_seq]
        return {
            "new_principal": self.new_principal,
            "capitalised": self.capitalised,
            "instalment": self.instalment,
            "new_instalments": len(new),
            "first_due": new[0].due_date.isoformat() if new else None,
            "last_due": new[-1].due_date.isoformat() if new else None,
            "annual_rate": str(self.annual_rate),
        }


def plan_restructuring(
    terms: LoanTerms,
    schedule: Sequence[Instalment],
    arrears: Arrears,
    future_principal: int,
    request: RestructuringRequest,
) -> RestructuringPlan:
    """The loan's schedule after the restructuring (see the module docstring)."""
    eff = request.effective_date
    kept = [i for i in schedule if i.due_date < eff]
    future = [i for i in schedule if i.due_date >= eff]
    capitalised = arrears.total if request.capitalise_arrears else 0
    if request.capitalise_arrears:
        kept = [_paid_part(i, arrears.remaining.get(i.seq, (0, 0, 0))) for i in kept]
    principal = future_principal + capitalised
    if principal <= 0:
        raise ValidationError("nothing left to restructure: no principal outstanding")
    n = len(future)
    anchor = kept[-1].due_date if kept else terms.disbursement_date
    first_due = future[0].due_date if future else step(anchor, terms.frequency, 1)
    while first_due <= eff:
        first_due = step(first_due, terms.frequency, 1)
    rate = request.new_rate if request.new_rate is not None else terms.annual_rate
    if request.new_rate is not None and request.new_rate >= terms.annual_rate:
        raise ValidationError(
            f"a rate reduction needs a rate below the contract's {terms.annual_rate}"
        )
    method = terms.method if terms.method not in (Method.BULLET,) else Method.ANNUITY
    k = request.periods
    rows: list[Instalment] = []
    if request.kind is RestructuringKind.EXTENSION:
        rows = _generate(terms, principal, rate, n + k, anchor, first_due, method)
    elif request.kind is RestructuringKind.DEFERRAL:
        start = due_dates(anchor, terms.frequency, k + 1, first_due)[k]
        rows = _generate(terms, principal, rate, max(n, 1), anchor, start, method)
    elif request.kind is RestructuringKind.REDUCED_INSTALMENT:
        if n - k < 1:
            raise ValidationError(
                f"{k} interest-only periods leave no instalment to repay the principal "
                f"({n} remain); propose an extension instead"
            )
        io = _generate(terms, principal, rate, k, anchor, first_due, Method.INTEREST_ONLY)
        io = [replace(i, principal=0, balance=principal) for i in io]
        rest_first = step(io[-1].due_date, terms.frequency, 1)
        rows = io + _generate(terms, principal, rate, n - k, io[-1].due_date, rest_first, method)
    else:  # rate reduction, capitalisation: same number of periods
        rows = _generate(terms, principal, rate, max(n, 1), anchor, first_due, method)
    first_seq = (kept[-1].seq if kept else 0) + 1
    new = [replace(i, seq=first_seq + j) for j, i in enumerate(rows)]
    regular = new[:-1] if len(new) > 1 and method is Method.INTEREST_ONLY else new
    if request.kind is RestructuringKind.REDUCED_INSTALMENT:
        regular = new[k:]
    instalment = max(i.total for i in regular)
    return RestructuringPlan(kept + new, principal, capitalised, instalment, first_seq, rate)


def _paid_part(inst: Instalment, unpaid: tuple[int, int, int]) -> Instalment:
    p, i, f = unpaid
    return replace(
        inst,
        principal=max(inst.principal - p, 0),
        interest=max(inst.interest - i, 0),
        fee=max(inst.fee - f, 0),
    )


def _generate(
    terms: LoanTerms,
    principal: int,
    rate: Decimal,
    periods: int,
    anchor: date,
    first_due: date,
    method: Method,
) -> list[Instalment]:
    return generate_schedule(
        LoanTerms(
            principal=principal,
            annual_rate=rate,
            term=periods,
            frequency=terms.frequency,
            day_count=terms.day_count,
            method=method,
            disbursement_date=anchor,
            first_due_date=first_due,
            fee_per_period=terms.fee_per_period,
            currency=terms.currency,
        )
    )


def affordable(instalment: int, monthly_income: int | None, max_ratio: Decimal) -> tuple[bool, str]:
    """Whether ``instalment / monthly_income <= max_ratio`` (exact), with the ratio as text.

    An unknown or zero income is not affordable: the proposer must record the income first.
    """
    if not monthly_income or monthly_income <= 0:
        return False, "unknown"
    ratio = Fraction(instalment, monthly_income)
    shown = Decimal(ratio.numerator) / Decimal(ratio.denominator)
    return ratio <= Fraction(max_ratio), f"{shown:.4f}"
