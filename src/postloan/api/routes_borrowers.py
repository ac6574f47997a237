"""Borrowers: search (exact national id / phone through the blind index) and the
borrower 360 view. Personal data is masked unless the caller holds
``pii.unmask`` and states a reason, which is audited (``security.unmask``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from postloan.api import queries_loans as q
from postloan.api.deps import Ctx, require
from postloan.api.pagination import Page, PageParams, page_params
from postloan.security.unmask import borrower_for
from postloan.security.users import User

router = APIRouter(prefix="/api/v1", tags=["borrowers"])
Viewer = Annotated[User, Depends(require("borrower.view"))]
Paging = Annotated[PageParams, Depends(page_params)]
NO_NUL = r"^[^\x00]+$"
BorrowerId = Annotated[str, Path(min_length=1, max_length=64, pattern=NO_NUL)]
Lookup = Annotated[str | None, Query(min_length=1, max_length=64, pattern=NO_NUL)]
Reason = Annotated[str | None, Query(max_length=2000, pattern=NO_NUL)]


class BorrowerOut(BaseModel):
    """A borrower; ``national_id``, ``phone`` and ``address`` are masked by default."""

    borrower_id: str
    name: str
    national_id: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    region: str | None = None
    birth_date: date | None = None
    monthly_income: int | None = None
    employment: str | None = None
    language: str | None = None


class Borrower360(BaseModel):
    borrower: BorrowerOut
    loans: list[dict[str, Any]]
    cases: list[dict[str, Any]]
    contacts: list[dict[str, Any]]
    contact_history: list[dict[str, Any]]


def _person(view: dict[str, Any]) -> BorrowerOut:
    return BorrowerOut(**{k: v for k, v in view.items() if k in BorrowerOut.model_fields})


@router.get("/borrowers", response_model=Page[BorrowerOut])
def borrowers(
    ctx: Ctx,
    user: Viewer,
    paging: Paging,
    national_id: Lookup = None,
    phone: Lookup = None,
    region: Lookup = None,
) -> Page[BorrowerOut]:
    """Borrowers in the caller's scope (masked); exact national id / phone lookup."""
    store = ctx.store
    with store.begin() as conn:
        ids, total = q.search_borrowers(
            conn, store.cipher, user, paging, national_id=national_id, phone=phone, region=region
        )
        items = [_person(borrower_for(conn, store.cipher, user, b)) for b in ids]
    return Page(items=items, total=total, page=paging.page, size=paging.size)


@router.get("/borrowers/{borrower_id}", response_model=Borrower360)
def borrower(
    borrower_id: BorrowerId,
    ctx: Ctx,
    user: Viewer,
    unmask: bool = False,
    reason: Reason = None,
) -> Borrower360:
    """Borrower 360: the person, loans, cases, contact persons, contact history.
    ``?unmask=true&reason=…`` shows personal data in clear (``pii.unmask``, audited)."""
    store = ctx.store
    with store.begin() as conn:
        doc = q.borrower_360(conn, store.cipher, user, borrower_id, unmask=unmask, reason=reason)
    return Borrower360(
        borrower=_person(doc["borrower"]),
        loans=doc["loans"],
        cases=doc["cases"],
        contacts=doc["contacts"],
        contact_history=doc["contact_history"],
    )
