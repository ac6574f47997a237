"""Public re-export of the error tree (see ``postloan.domain.errors``)."""

from postloan.domain.errors import (
    ConfigError,
    ConflictError,
    DomainError,
    FeedError,
    IllegalTransition,
    InvalidTerms,
    NotFound,
    PermissionDenied,
    PostLoanError,
    ValidationError,
)

__all__ = [
    "ConfigError",
    "ConflictError",
    "DomainError",
    "FeedError",
    "IllegalTransition",
    "InvalidTerms",
    "NotFound",
    "PermissionDenied",
    "PostLoanError",
    "ValidationError",
]
