"""Alert rules and the alert state machine (pure): the shipped rules parse, the
transition table rejects every illegal move (property test), candidates are
routed by role and team, and the dedup key names rule, loan and episode."""

from __future__ import annotations

import json
from datetime import date
from importlib import resources
from typing import Any

import polars as pl
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from postloan.domain.errors import ConfigError, IllegalTransition
from postloan.risk.alert_rules import (
    TRANSITIONS,
    AlertState,
    evaluate,
    merge,
    parse_rules,
    transition,
)

D = date(2026, 6, 15)


def default_raw() -> dict[str, Any]:
    text = resources.files("postloan.risk").joinpath("default_alert_rules.yaml")
    return yaml.safe_load(text.read_text(encoding="utf-8"))


LEGAL = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}


@given(st.sampled_from(list(AlertState)), st.sampled_from(list(AlertState)))
def test_only_the_table_moves_are_allowed(src: AlertState, dst: AlertState) -> None:
    if (src, dst) in LEGAL:
        assert transition(src, dst) is dst
    else:
        with pytest.raises(IllegalTransition):
            transition(src, dst)


@given(st.lists(st.sampled_from(list(AlertState)), max_size=8))
def test_any_walk_ends_closed_forever(walk: list[AlertState]) -> None:
    state = AlertState.NEW
    for target in walk:
        try:
            state = transition(state, target)
        except IllegalTransition:
            continue
    if state is AlertState.CLOSED:
        for target in AlertState:
            with pytest.raises(IllegalTransition):
                transition(state, target)


def test_unknown_state_is_illegal() -> None:
    with pytest.raises(IllegalTransition):
        transition("new", "snoozed")


def test_shipped_rules_cover_the_issue() -> None:
    rules = parse_rules(default_raw())
    ids = {r.id for r in rules.rules}
    assert {
        "first_missed_payment",
        "failed_debit",
        "partial_payment",
        "score_drop",
        "other_loan_delinquent",
        "contact_lost",
        "broken_promise",
    } <= ids
    for r in rules.rules:
        assert r.sla_hours > 0 and r.title["zh-CN"] and r.title["en"]


def base() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "loan_id": ["P", "L", "Q"],
            "borrower_id": ["b1", "b2", "b3"],
            "officer_id": ["o7", "o8", None],
            "branch": ["SZ-01", "GZ-02", "SZ-01"],
            "bucket": ["M0", "M1", "M0"],
            "overdue_since": [None, date(2026, 6, 1), None],
            "dpd": [0, 14, 0],
            "partial_payment_today": [True, True, False],
            "entered_delinquency": [False, True, False],
            "overdue_instalments": [0, 1, 0],
        }
    )


def test_auto_owner_routes_performing_to_the_officer_and_delinquent_to_collections() -> None:
    rules = parse_rules(
        default_raw()
        | {
            "rules": [
                r
                for r in default_raw()["rules"]
                if r["id"] in ("partial_payment", "first_missed_payment")
            ]
        }
    )
    out = evaluate(base(), rules, D)
    rows = {(r["rule_id"], r["loan_id"]): r for r in out.to_dicts()}
    assert set(rows) == {
        ("partial_payment", "P"),
        ("partial_payment", "L"),
        ("first_missed_payment", "L"),
    }
    p = rows[("partial_payment", "P")]
    assert (p["owner_role"], p["owner_team"], p["owner_user"]) == ("loan_officer", "SZ-01", "o7")
    assert p["alert_key"] == "partial_payment:P:2026-06"
    late = rows[("partial_payment", "L")]
    assert (late["owner_role"], late["owner_team"], late["owner_user"]) == (
        "collector",
        "collections-M1",
        None,
    )
    first = rows[("first_missed_payment", "L")]
    assert first["alert_key"] == "first_missed_payment:L:2026-06-01"  # episode: overdue since
    assert first["severity"] == "medium" and first["sla_hours"] == 24
    assert json.loads(first["detail"]) == {
        "dpd": "14",
        "entered_delinquency": "true",
        "overdue_instalments": "1",
    }


def test_config_override_disables_changes_and_adds_rules() -> None:
    override = {
        "rules": [
            {"id": "partial_payment", "enabled": False},
            {"id": "failed_debit", "severity": "high"},
            {"id": "deep_arrears", "when": "dpd >= 10", "severity": "critical", "episode": "date"},
        ]
    }
    rules = parse_rules(merge(default_raw(), override)).by_id()
    assert "partial_payment" not in rules
    assert rules["failed_debit"].severity == "high"
    assert rules["failed_debit"].when == default_raw()["rules"][1]["when"]
    only = parse_rules({"rules": [override["rules"][2]], "routing": default_raw()["routing"]})
    out = evaluate(base(), only, D)
    assert out["alert_key"].to_list() == ["deep_arrears:L:2026-06-15"]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"id": "x", "when": "dpd >>> 3"}, "cannot read"),
        ({"id": "x", "when": "dpd > 1", "severity": "urgent"}, "severity"),
        ({"id": "x", "when": "dpd > 1", "owner": "ceo"}, "owner"),
        ({"id": "x", "when": "dpd > 1", "sla_hours": 0}, "sla_hours"),
        ({"id": "Bad Id", "when": "dpd > 1"}, "lower_snake_case"),
    ],
)
def test_bad_rules_are_config_errors(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_rules({"rules": [rule], "routing": default_raw()["routing"]})


def test_unknown_column_is_a_config_error() -> None:
    rules = parse_rules(
        {"rules": [{"id": "x", "when": "dpdd > 1"}], "routing": default_raw()["routing"]}
    )
    with pytest.raises(ConfigError, match="unknown column 'dpdd'"):
        evaluate(base(), rules, D)


def test_missing_route_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="collections"):
        parse_rules({"rules": [], "routing": {"loan_officer": {"role": "loan_officer"}}})
