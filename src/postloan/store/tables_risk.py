"""ORM tables of early warning: scores per loan and date, alerts (issue 5).

Same conventions as :mod:`postloan.store.tables` (money in BigInteger minor
units, no plaintext personal data); the schema comes from the Alembic migrations.
Probabilities are model outputs, not money, so they are floats.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from postloan.store.tables import Base, Id, Short

Reason = String(64)


class LoanScore(Base):
    """One model score of one loan on one business date (the SCORE step's commit)."""

    __tablename__ = "loan_scores"
    __table_args__ = (Index("ix_loan_scores_business_date_purpose", "business_date", "purpose"),)

    loan_id: Mapped[str] = mapped_column(Id, primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    purpose: Mapped[str] = mapped_column(Short, primary_key=True)
    model_id: Mapped[str] = mapped_column(String(64))
    probability: Mapped[float] = mapped_column(Float)
    score: Mapped[int] = mapped_column(Integer)
    band: Mapped[str] = mapped_column(String(8))
    reason_1: Mapped[str | None] = mapped_column(Reason)
    reason_2: Mapped[str | None] = mapped_column(Reason)
    reason_3: Mapped[str | None] = mapped_column(Reason)
    reason_text_1: Mapped[str | None] = mapped_column(Text)  # zh-CN
    reason_text_2: Mapped[str | None] = mapped_column(Text)
    reason_text_3: Mapped[str | None] = mapped_column(Text)
    reason_text_en_1: Mapped[str | None] = mapped_column(Text)
    reason_text_en_2: Mapped[str | None] = mapped_column(Text)
    reason_text_en_3: Mapped[str | None] = mapped_column(Text)


class Alert(Base):
    """One early-warning alert. ``alert_key`` (rule, loan, episode) is unique: a rule
    raises one alert per loan and episode, so re-running a date adds nothing.
    ``version`` is the optimistic-lock counter every state change increments."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_state_owner_role", "state", "owner_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_key: Mapped[str] = mapped_column(String(200), unique=True)
    rule_id: Mapped[str] = mapped_column(String(64))
    loan_id: Mapped[str] = mapped_column(Id, index=True)
    borrower_id: Mapped[str | None] = mapped_column(Id)
    business_date: Mapped[date] = mapped_column(Date, index=True)
    severity: Mapped[str] = mapped_column(String(16))
    owner_role: Mapped[str] = mapped_column(Short)
    owner_team: Mapped[str | None] = mapped_column(String(64))
    owner_user: Mapped[str | None] = mapped_column(Id, index=True)
    state: Mapped[str] = mapped_column(String(16))  # see postloan.risk.alert_rules.AlertState
    version: Mapped[int] = mapped_column(Integer)
    sla_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    detail: Mapped[str | None] = mapped_column(Text)  # JSON: the values that triggered it
    run_id: Mapped[str | None] = mapped_column(Id)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str | None] = mapped_column(Id)


class ModelMonitoring(Base):
    """Monitoring of one model on one business date (the SCORE step's commit):
    PSI of the probability and every feature against the training sample, realised
    discrimination once the window of (date − horizon) has matured, and the alerts
    raised. Re-running a date replaces its row (key: model, date)."""

    __tablename__ = "model_monitoring"
    __table_args__ = (Index("ix_model_monitoring_purpose_date", "purpose", "business_date"),)

    model_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    purpose: Mapped[str] = mapped_column(Short)
    rows: Mapped[int] = mapped_column(Integer)
    psi_probability: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(8))  # stable | watch | shift
    feature_psi: Mapped[str] = mapped_column(Text)  # JSON: feature → PSI
    realised_auc: Mapped[float | None] = mapped_column(Float)
    realised_ks: Mapped[float | None] = mapped_column(Float)
    realised_gini: Mapped[float | None] = mapped_column(Float)
    realised_rows: Mapped[int | None] = mapped_column(Integer)  # matured loans measured
    calibration: Mapped[str | None] = mapped_column(Text)  # JSON: decile rows
    alerts: Mapped[str] = mapped_column(Text)  # JSON: list of model alerts
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
