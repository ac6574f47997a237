"""The one error tree of postloan.

PostLoanError
├── DomainError            a rule of the domain was asked to do something impossible
│   ├── InvalidTerms       loan terms that cannot produce a schedule
│   └── IllegalTransition  a state machine was asked to move along an edge it lacks
├── FeedError              an input file cannot be read at all (encoding, format, columns)
├── ValidationError        a value breaks a rule (row problems are reported, not raised)
├── NotFound               a named object does not exist
├── ConflictError          the change conflicts with stored state
├── ConfigError            configuration is missing or inconsistent
└── PermissionDenied       the actor may not do this

Every message says what was wrong and what to do about it: the CLI prints it
without a stack trace and exits with ``exit_code``.
"""

from __future__ import annotations


class PostLoanError(Exception):
    """Root of every error postloan raises on purpose."""

    exit_code: int = 1
    code: str = "postloan_error"


class DomainError(PostLoanError):
    code = "domain_error"


class InvalidTerms(DomainError):
    code = "invalid_terms"
    exit_code = 2


class IllegalTransition(DomainError):
    code = "illegal_transition"


class FeedError(PostLoanError):
    code = "feed_error"
    exit_code = 2


class ValidationError(PostLoanError):
    code = "validation_error"
    exit_code = 2


class NotFound(PostLoanError):
    code = "not_found"
    exit_code = 4


class ConflictError(PostLoanError):
    code = "conflict"
    exit_code = 5


class ConfigError(PostLoanError):
    code = "config_error"
    exit_code = 2


class PermissionDenied(PostLoanError):
    code = "permission_denied"
    exit_code = 6
