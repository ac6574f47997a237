"""Page-numbered lists: ``?page=&size=`` in, ``{items, total, page, size}`` out.

Every list endpoint counts its matches (``total``) with the same filters and
scope as the page it returns, so a client can show "page 3 of 12". Pages are
ordered by a unique key, so a row is never on two pages of one listing.
"""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query, Response
from pydantic import BaseModel

T = TypeVar("T")
MAX_SIZE = 500
MAX_PAGE = 1_000_000


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    size: int


class PageParams(BaseModel):
    page: int = 1
    size: int = 50

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


async def page_params(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page number")] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_SIZE, description="rows per page")] = 50,
) -> PageParams:
    # async: pure arithmetic, so FastAPI runs it on the event loop, not in a thread
    return PageParams(page=page, size=size)


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    """``model`` as JSON, serialised once by pydantic: the hot read endpoints return this
    so FastAPI does not validate and re-encode what the model already checked (the
    route's ``response_model`` still documents it)."""
    return Response(model.model_dump_json(), status_code, media_type="application/json")
