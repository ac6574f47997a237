"""Contact configuration: ``config.yaml`` section ``contact:`` plus the environment.

Endpoints come from ``POSTLOAN_SMTP_URL``, ``POSTLOAN_SMS_URL`` and
``POSTLOAN_WEBHOOK_URL`` (they win over the file). A channel without an endpoint
is simply not sent: its messages stay queued and ``postloan dispatch`` says so.

Example::

    contact:
      default_profile: CN
      default_time_zone: Asia/Shanghai
      regions: {US: {profile: US, time_zone: America/New_York}}
      profiles: {CN: {holidays: [2026-10-01], caps: {sms: {per_day: 2}}}}
      institution: {name_zh: 某某消费金融, name_en: Some Finance, phone: 400-000-0000}
      email_from: noreply@example.com
      sms: {adapter: json, sign_name: 某某消费金融, template_codes: {overdue: SMS_1}}
      rate_per_second: {sms: 200, email: 20, webhook: 200}
      cost: {sms: 5, email: 0, webhook: 0, inapp: 0, currency: CNY}
      max_attempts: 5
      lease_seconds: 60
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from postloan.config import Settings
from postloan.contact.conduct import PROFILES, ConductProfile, zone
from postloan.contact.templates import Institution
from postloan.domain.errors import ConfigError, ValidationError
from postloan.policy_config import read_config


@dataclass(frozen=True, slots=True)
class RegionRule:
    profile: str
    time_zone: str


@dataclass(frozen=True)
class ContactSettings:
    default_profile: str = "CN"
    default_time_zone: str = "Asia/Shanghai"
    profiles: Mapping[str, ConductProfile] = field(default_factory=lambda: dict(PROFILES))
    regions: Mapping[str, RegionRule] = field(default_factory=dict)
    institution: Institution = field(default_factory=Institution)
    smtp_url: str | None = None
    smtp_user: str | None = None
    smtp_password: str | None = None
    email_from: str = "noreply@postloan.invalid"
    sms_url: str | None = None
    sms_adapter: str = "json"
    sms_sign_name: str = "postloan"
    sms_template_codes: Mapping[str, str] = field(default_factory=dict)
    webhook_url: str | None = None
    rate_per_second: Mapping[str, float] = field(
        default_factory=lambda: {"sms": 200.0, "email": 20.0, "webhook": 200.0}
    )
    cost_minor: Mapping[str, int] = field(
        default_factory=lambda: {"sms": 5, "email": 0, "webhook": 0, "inapp": 0}
    )
    cost_currency: str = "CNY"
    max_attempts: int = 5
    backoff_seconds: float = 30.0
    backoff_cap_seconds: float = 3600.0
    lease_seconds: float = 60.0
    batch_size: int = 200
    http_timeout: float = 10.0

    def profile(self, name: str | None) -> ConductProfile:
        key = (name or self.default_profile).upper()
        if key not in self.profiles:
            raise ValidationError(
                f"unknown contact profile {key!r}; configure one of {sorted(self.profiles)}"
            )
        return self.profiles[key]

    def for_region(self, region: str | None) -> RegionRule:
        """The profile and time zone of a borrower region (longest matching prefix)."""
        if region:
            for prefix in sorted(self.regions, key=len, reverse=True):
                if region.upper().startswith(prefix.upper()):
                    return self.regions[prefix]
        return RegionRule(self.default_profile, self.default_time_zone)


def _section(settings: Settings) -> dict[str, Any]:
    data = read_config(settings.config_file).get("contact") or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{settings.config_file}: 'contact' must be a mapping")
    return data


def load_contact_settings(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> ContactSettings:
    """The contact settings of this installation (``ConfigError`` names the problem)."""
    env = os.environ if environ is None else environ
    data = _section(settings)
    where = f"{settings.config_file}: contact"
    try:
        profiles = dict(PROFILES)
        for name, overrides in dict(data.get("profiles") or {}).items():
            base = profiles.get(str(name).upper(), ConductProfile.cn())
            profiles[str(name).upper()] = base.with_overrides(dict(overrides or {}))
        regions = {
            str(k): RegionRule(str(v.get("profile", "CN")).upper(), str(v["time_zone"]))
            for k, v in dict(data.get("regions") or {}).items()
        }
        inst = dict(data.get("institution") or {})
        sms = dict(data.get("sms") or {})
        cost = dict(data.get("cost") or {})
        currency = str(cost.pop("currency", "CNY"))
        out = ContactSettings(
            default_profile=str(data.get("default_profile", "CN")).upper(),
            default_time_zone=str(data.get("default_time_zone", "Asia/Shanghai")),
            profiles=profiles,
            regions=regions,
            institution=Institution(**{k: str(v) for k, v in inst.items()}),
            smtp_url=env.get("POSTLOAN_SMTP_URL") or data.get("smtp_url"),
            smtp_user=env.get("POSTLOAN_SMTP_USER") or data.get("smtp_user"),
            smtp_password=env.get("POSTLOAN_SMTP_PASSWORD"),
            email_from=str(data.get("email_from", "noreply@postloan.invalid")),
            sms_url=env.get("POSTLOAN_SMS_URL") or sms.get("url"),
            sms_adapter=str(env.get("POSTLOAN_SMS_ADAPTER") or sms.get("adapter", "json")),
            sms_sign_name=str(sms.get("sign_name", "postloan")),
            sms_template_codes={
                str(k): str(v) for k, v in (sms.get("template_codes") or {}).items()
            },
            webhook_url=env.get("POSTLOAN_WEBHOOK_URL") or data.get("webhook_url"),
            rate_per_second={
                **ContactSettings().rate_per_second,
                **{str(k): float(v) for k, v in (data.get("rate_per_second") or {}).items()},
            },
            cost_minor={
                **ContactSettings().cost_minor,
                **{str(k): int(v) for k, v in cost.items()},
            },
            cost_currency=currency,
            max_attempts=int(data.get("max_attempts", 5)),
            backoff_seconds=float(data.get("backoff_seconds", 30)),
            backoff_cap_seconds=float(data.get("backoff_cap_seconds", 3600)),
            lease_seconds=float(data.get("lease_seconds", 60)),
            batch_size=int(data.get("batch_size", 200)),
            http_timeout=float(data.get("http_timeout", 10)),
        )
    except (TypeError, ValueError, KeyError) as err:
        raise ConfigError(f"{where}: {err!r}") from None
    if out.sms_adapter not in {"json", "aliyun"}:
        raise ConfigError(f"{where}: sms adapter must be 'json' or 'aliyun'")
    if out.max_attempts < 1 or out.lease_seconds <= 0 or out.batch_size < 1:
        raise ConfigError(f"{where}: max_attempts, lease_seconds and batch_size must be positive")
    try:
        out.profile(out.default_profile)
        for rule in [*out.regions.values(), out.for_region(None)]:
            out.profile(rule.profile)
            zone(rule.time_zone)
    except ValidationError as err:
        raise ConfigError(f"{where}: {err}") from None
    return out
