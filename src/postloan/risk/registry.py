"""The model registry on disk: ``$POSTLOAN_HOME/models/<model_id>/``.

Each model directory holds ``model.json`` (purpose, kind, training window,
features, parameters, metrics, data hash, created_at, the encoding, calibration
and the training sample's bins for monitoring) and the fitted model itself
(``model.txt``, LightGBM's own text format, or ``scorecard.json``). Nothing is
pickled. Ids read like ``bscore-20261129-ab12cd`` (purpose, UTC creation date,
6 hex digits of a hash of the model's content), so the same training twice in
one second gives the same id. ``active.json`` names the one active model of
each purpose; :func:`activate` changes it: once users exist, a risk manager
proposes and another approves (maker-checker, ``postloan approvals decide``);
every change is written to the audit log.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postloan.domain.errors import NotFound, ValidationError
from postloan.risk.calibration import Calibrator
from postloan.risk.lgbm import LgbmEngine
from postloan.risk.models import TrainedModel
from postloan.risk.scorecard import ScorecardEngine
from postloan.risk.tabular import Encoding

if TYPE_CHECKING:
    from collections.abc import Mapping

    from postloan.config import Settings

__all__ = [
    "activate",
    "active",
    "apply_activation",
    "active_id",
    "list_models",
    "load",
    "model_dir",
    "read_meta",
    "register",
    "set_active",
]

ACTIVE_FILE = "active.json"
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_CACHE: dict[tuple[str, int], TrainedModel] = {}


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


def _dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True, default=_json_default)


def model_dir(settings: Settings, model_id: str) -> Path:
    if not _ID.match(model_id):
        raise ValidationError(f"{model_id!r} is not a model id (e.g. bscore-20261129-ab12cd)")
    return settings.models_dir / model_id


def _slug(purpose: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", purpose.lower()).strip("-")
    if not slug:
        raise ValidationError(f"purpose {purpose!r}: use letters and digits (e.g. bscore)")
    return slug


def _artefact(model: TrainedModel) -> tuple[str, str]:
    if isinstance(model.engine, LgbmEngine):
        return "model.txt", model.engine.model_text
    return "scorecard.json", _dump(model.engine.to_dict())


def register(
    settings: Settings,
    model: TrainedModel,
    *,
    training_window: tuple[date, date] | None,
    data_hash: str,
    metrics: Mapping[str, Any],
    params: Mapping[str, Any],
) -> str:
    """Write ``model`` to the registry with its provenance; return its new id (also
    set on ``model.model_id``). The model is not activated."""
    model.training_window = training_window
    model.data_hash = data_hash
    model.metrics = {**model.metrics, **dict(metrics)}
    model.params = {**model.params, **dict(params)}
    name, body = _artefact(model)
    meta = model.meta()
    meta.pop("model_id")
    digest = hashlib.sha256((_dump(meta) + body).encode()).hexdigest()[:6]
    created = model.created_at or datetime.now().astimezone()
    model_id = f"{_slug(model.purpose)}-{created:%Y%m%d}-{digest}"
    model.model_id = model_id
    target = model_dir(settings, model_id)
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=settings.models_dir))
    try:
        (staging / name).write_text(body, encoding="utf-8")
        (staging / "model.json").write_text(_dump(model.meta()), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return model_id


def read_meta(settings: Settings, model_id: str) -> dict[str, Any]:
    path = model_dir(settings, model_id) / "model.json"
    if not path.exists():
        raise NotFound(f"no model {model_id!r}; list them with `postloan model list`")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _from_meta(folder: Path, meta: Mapping[str, Any]) -> TrainedModel:
    encoding = Encoding.from_dict(meta["encoding"])
    engine: LgbmEngine | ScorecardEngine
    if meta["kind"] == "lgbm":
        engine = LgbmEngine(
            (folder / "model.txt").read_text(encoding="utf-8"), len(encoding.features)
        )
    else:
        engine = ScorecardEngine.from_dict(
            json.loads((folder / "scorecard.json").read_text(encoding="utf-8"))
        )
    window = meta.get("training_window")
    created = meta.get("created_at")
    return TrainedModel(
        model_id=meta["model_id"],
        kind=meta["kind"],
        purpose=meta["purpose"],
        features=list(meta["features"]),
        encoding=encoding,
        engine=engine,
        calibrator=Calibrator.from_dict(meta["calibration"]),
        points={k: float(v) for k, v in meta["points"].items()},
        band_edges=tuple(float(e) for e in meta["band_edges"]),
        params=dict(meta.get("params") or {}),
        metrics=dict(meta.get("metrics") or {}),
        reference=dict(meta.get("reference") or {}),
        training_window=(
            (date.fromisoformat(window[0]), date.fromisoformat(window[1])) if window else None
        ),
        data_hash=meta.get("data_hash"),
        created_at=datetime.fromisoformat(created) if created else None,
        target=meta.get("target"),
    )


def load(settings: Settings, model_id: str) -> TrainedModel:
    """The registered model ``model_id`` (cached while its files are unchanged)."""
    folder = model_dir(settings, model_id)
    path = folder / "model.json"
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise NotFound(f"no model {model_id!r}; list them with `postloan model list`") from None
    key = (str(path), stamp)
    if key not in _CACHE:
        _CACHE[key] = _from_meta(folder, read_meta(settings, model_id))
    return _CACHE[key]


def _active_doc(settings: Settings) -> dict[str, Any]:
    path = settings.models_dir / ACTIVE_FILE
    if not path.exists():
        return {}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def active_id(settings: Settings, purpose: str) -> str | None:
    entry = _active_doc(settings).get(purpose)
    return str(entry["model_id"]) if entry else None


def active(settings: Settings, purpose: str) -> TrainedModel | None:
    """The active model of ``purpose``, or None."""
    model_id = active_id(settings, purpose)
    return load(settings, model_id) if model_id else None


def set_active(
    settings: Settings, model_id: str, *, by: str, approval_id: int | None = None
) -> str | None:
    """Make ``model_id`` the active model of its purpose; return the previous one.
    (Call :func:`activate`, which asks for a checker and audits it.)"""
    meta = read_meta(settings, model_id)
    doc = _active_doc(settings)
    previous = doc.get(meta["purpose"], {}).get("model_id")
    doc[meta["purpose"]] = {
        "model_id": model_id,
        "activated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "by": by,
        "approval_id": approval_id,
    }
    path = settings.models_dir / ACTIVE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(_dump(doc), encoding="utf-8")
    os.replace(tmp, path)
    return str(previous) if previous else None


def list_models(settings: Settings) -> list[dict[str, Any]]:
    """One summary per registered model, newest first: id, purpose, kind, created_at,
    training window, metrics, active."""
    if not settings.models_dir.exists():
        return []
    doc = _active_doc(settings)
    live = {v["model_id"] for v in doc.values()}
    out = []
    for path in settings.models_dir.glob("*/model.json"):
        meta = json.loads(path.read_text(encoding="utf-8"))
        out.append(
            {
                "model_id": meta["model_id"],
                "purpose": meta["purpose"],
                "kind": meta["kind"],
                "created_at": meta["created_at"],
                "training_window": meta["training_window"],
                "features": len(meta["features"]),
                "metrics": meta["metrics"],
                "active": meta["model_id"] in live,
            }
        )
    return sorted(out, key=lambda m: (m["created_at"] or "", m["model_id"]), reverse=True)


def _audit(
    conn: Any,
    *,
    actor: str,
    role: str,
    model_id: str,
    purpose: str,
    previous: str | None,
    approval_id: int | None,
) -> None:
    try:
        from postloan.audit import record
    except ImportError:  # pragma: no cover - the audit log ships with postloan
        return
    record(
        conn,
        actor=actor,
        role=role,
        action="model.activate",
        object_type="model",
        object_id=model_id,
        before={"purpose": purpose, "active": previous},
        after={"purpose": purpose, "active": model_id, "approval_id": approval_id},
    )


def _role(conn: Any, user: str) -> str:
    if user == "system":
        return "system"
    from postloan.security.users import get_user

    return str(get_user(conn, user).role)


def _has_users(conn: Any) -> bool:
    from postloan.security.users import list_users

    return bool(list_users(conn))


def activate(
    settings: Settings, model_id: str, *, user: str, reason: str | None = None
) -> dict[str, Any]:
    """Ask to make ``model_id`` active for its purpose.

    Once users exist this files a maker-checker proposal (``model.activate``) and
    returns ``{"state": "pending", "approval_id": …}``: another risk manager
    approves it with ``postloan approvals approve``, which applies it. Before any
    user exists (a fresh install, the demo) the model is activated at once by
    ``user`` and returns ``{"state": "active", "previous": …}``. Audited either way.
    """
    from postloan.store.db import open_store

    meta = read_meta(settings, model_id)
    store = open_store(settings)
    try:
        with store.begin() as conn:
            if _has_users(conn):
                from postloan.security.approvals import propose

                approval_id = propose(
                    conn,
                    maker=user,
                    action="model.activate",
                    object_type="model",
                    object_id=model_id,
                    payload={"model_id": model_id, "purpose": meta["purpose"]},
                    reason=reason,
                )
                return {"state": "pending", "approval_id": approval_id, "model_id": model_id}
            previous = set_active(settings, model_id, by=user)
            _audit(
                conn,
                actor=user,
                role="system" if user == "system" else "admin",
                model_id=model_id,
                purpose=meta["purpose"],
                previous=previous,
                approval_id=None,
            )
    finally:
        store.close()
    return {"state": "active", "model_id": model_id, "previous": previous}


def apply_activation(conn: Any, approval: Any) -> None:
    """The ``model.activate`` approval handler: activate the approved model (in the
    checker's transaction, which also records it in the audit log)."""
    from postloan.config import load_settings

    settings = load_settings()
    model_id = str(approval.payload.get("model_id") or approval.object_id)
    meta = read_meta(settings, model_id)
    checker = str(approval.checker)
    previous = set_active(settings, model_id, by=checker, approval_id=int(approval.id))
    _audit(
        conn,
        actor=checker,
        role=_role(conn, checker),
        model_id=model_id,
        purpose=meta["purpose"],
        previous=previous,
        approval_id=int(approval.id),
    )
