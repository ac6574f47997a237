"""Request and response bodies of the API (separate from domain objects and ORM rows)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field

MAX_INT32 = 2**31 - 1


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]


class ErrorOut(BaseModel):
    code: str
    message: str
    details: Any = None


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class UserOut(BaseModel):
    username: str
    display_name: str
    role: str
    team: str | None = None
    region: str | None = None
    skills: list[str] = []
    capacity: int | None = None
    active: bool


class MeOut(UserOut):
    permissions: list[str]


class UserIn(BaseModel):
    username: Text = Field(min_length=2, max_length=64)
    role: Text = Field(max_length=32)
    password: Text | None = Field(default=None, max_length=1024)
    display_name: Text | None = Field(default=None, max_length=200)
    team: Text | None = Field(default=None, max_length=32)
    region: Text | None = Field(default=None, max_length=32)
    skills: list[Annotated[Text, Field(max_length=32)]] = Field(default=[], max_length=50)
    capacity: int | None = Field(default=None, ge=0, le=100_000)


class RoleChangeIn(BaseModel):
    role: Text = Field(max_length=32)
    reason: Text | None = Field(default=None, max_length=2000)


class ReasonIn(BaseModel):
    reason: Text | None = Field(default=None, max_length=2000)


class ApiKeyIn(BaseModel):
    label: Text | None = Field(default=None, max_length=200)


class ApiKeyOut(BaseModel):
    api_key: str


class ApprovalRef(BaseModel):
    approval_id: int
    state: str


class ApprovalOut(BaseModel):
    id: int
    action: str
    object_type: str
    object_id: str
    payload: dict[str, Any]
    amount_minor: int | None
    state: str
    maker: str
    maker_role: str
    reason: str | None
    checker: str | None
    checker_reason: str | None
    created_at: str
    decided_at: str | None


class LoanOut(BaseModel):
    loan_id: str
    borrower_id: str
    product: str
    principal_minor: int
    currency: str
    officer_id: str | None


class HealthOut(BaseModel):
    status: str
    database: str
