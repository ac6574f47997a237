"""Quarantine: rejected rows (as read) and a machine-readable error list per feed.

Layout: ``$POSTLOAN_HOME/quarantine/<run-id>/<feed>.rejected.csv`` (the original
columns plus ``source_line``) next to ``<feed>.errors.json`` (a JSON list of
``{file, line, column, value, rule, message}``). A file rejected as a whole is
copied byte for byte as ``<feed>.rejected<ext>``. Files are 0600: they can
hold personal data.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import polars as pl

from postloan.feeds.readers import LINE
from postloan.feeds.validation import ERROR_SCHEMA


class Quarantine:
    def __init__(self, root: Path, run_id: str) -> None:
        self.dir = root / run_id
        self.used = False

    def _ready(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.used = True

    def rows(self, name: str, rejected: pl.DataFrame, errors: pl.DataFrame) -> None:
        """Write rejected rows and their errors (appending when called again for ``name``)."""
        if errors.height == 0:
            return
        self._ready()
        csv_path = self.dir / f"{name}.rejected.csv"
        json_path = self.dir / f"{name}.errors.json"
        out = rejected.rename({LINE: "source_line"})
        if csv_path.exists():
            old = pl.read_csv(csv_path, infer_schema=False)
            out = pl.concat([old, out.cast(pl.Utf8)], how="diagonal")
        out.write_csv(csv_path)
        errs = errors.cast(ERROR_SCHEMA)
        if json_path.exists():
            errs = pl.concat([pl.read_json(json_path, schema=ERROR_SCHEMA), errs])
        _write_json(json_path, errs)
        _private(csv_path, json_path)

    def whole_file(self, name: str, source: Path, rule: str, message: str) -> None:
        """Keep a file that could not be read at all, with its one error."""
        self._ready()
        copy = self.dir / f"{name}.rejected{source.suffix.lower()}"
        shutil.copyfile(source, copy)
        json_path = self.dir / f"{name}.errors.json"
        error = {
            "file": str(source),
            "line": None,
            "column": None,
            "value": None,
            "rule": rule,
            "message": message,
        }
        json_path.write_text(json.dumps([error], ensure_ascii=False, indent=1), encoding="utf-8")
        _private(copy, json_path)


def _write_json(path: Path, errors: pl.DataFrame) -> None:
    path.write_text(
        json.dumps(errors.to_dicts(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )


def _private(*paths: Path) -> None:
    for p in paths:
        os.chmod(p, 0o600)
