"""Churn model (issue 16, item 3): CDNOW against BG/NBD, and fit + scoring of 1M customers.

    .venv/bin/python bench/churn.py --phase cdnow --runs 3
    .venv/bin/python bench/churn.py --phase scale --runs 3      # needs the 1M data set:
    .venv/bin/python bench/segments_scale.py --generate --phase none

CDNOW (23,570 customers who first bought in 1997-Q1, purchases to 1998-06) ships inside the
`lifetimes` package: this script downloads its wheel with pip (no dependencies, never
imported), reads `lifetimes/datasets/CDNOW_master.txt` from the zip and writes the
`customer_id,date,amount` file that `loyalty churn evaluate` reads. Besides the command's own
JSON (the model and the BG/NBD baseline), it reports the Pareto/NBD with a never-leaving
share, a check of both on a split of the calibration period, and two oracle ceilings that
look at the holdout itself (no model can use them; they bound what any ranking or calibrated
forecast from the same history can reach).

Scale: `refresh_predictions` on the benchmark database (1,000,000 customers, 20M lines):
the SQL that groups histories, the maximum-likelihood fit, and the set-based scoring; and
per-customer re-scoring (what a purchase triggers) for 2,000 customers against it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crm_core.churn import pareto_nbd
from crm_core.churn.evaluate import auc, read_days, split
from crm_core.db import close_db, init_db

CACHE = Path("/tmp/loyalty-bench-cdnow")
WHEEL = "lifetimes==0.11.3"
MEMBER = "lifetimes/datasets/CDNOW_master.txt"
CALIBRATION_END, HOLDOUT_END = date(1997, 9, 30), date(1998, 6, 30)
BENCH_URL = "postgres://postgres@127.0.0.1:5432/loyalty_bench_crm"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # the generator's "now"


def cdnow_csv() -> Path:
    target = CACHE / "cdnow.csv"
    if target.exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(CACHE), WHEEL],
        check=True,
    )
    wheel = next(CACHE.glob("[Ll]ifetimes-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        raw = archive.read(MEMBER).decode()
    lines = ["customer_id,date,amount"]
    for row in raw.splitlines()[1:]:
        customer, day, _, amount = row.split()
        lines.append(f"{customer},{day[:4]}-{day[4:6]}-{day[6:]},{amount}")
    target.write_text("\n".join(lines) + "\n")
    return target


def phase_cdnow(runs: int) -> dict:
    path = cdnow_csv()
    dates = ["--calibration-end", str(CALIBRATION_END), "--holdout-end", str(HOLDOUT_END)]
    command = [sys.executable, "-m", "loyalty.cli", "churn", "evaluate", str(path), *dates]
    timings, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
        timings.append(time.perf_counter() - started)
        result = json.loads(done.stdout)
    print(json.dumps(result, indent=1), flush=True)
    days = read_days(path.read_text().splitlines())
    data = split(days, CALIBRATION_END, HOLDOUT_END)
    s = data.summary
    plain, _ = pareto_nbd.fit(s, with_share=True)
    ahead = pareto_nbd.predict(plain, s.x, s.t_x, s.T, data.holdout_days)
    risk = pareto_nbd.predict(plain, s.x, s.t_x, s.T, 90).p_none
    bought = data.holdout > 0
    plain_figures = {
        "parameters": plain.as_dict(),
        "predicted_total": round(float(ahead.expected.sum()), 1),
        "mae": round(float(np.abs(ahead.expected - data.holdout).mean()), 4),
        "auc": round(auc(1 - risk, bought), 4),
        "auc_p_alive": round(auc(ahead.p_alive, bought), 4),
        "auc_expected": round(auc(ahead.expected, bought), 4),
    }
    # The calibration period split in two: fit to 1997-06-30, forecast July to September.
    early = split(days, date(1997, 6, 30), CALIBRATION_END)
    inner = {}
    for label, with_share in (("pareto_nbd_share", True), ("pareto_nbd_plain", False)):
        model, _ = pareto_nbd.fit(early.summary, with_share=with_share)
        e = early.summary
        guess = pareto_nbd.predict(model, e.x, e.t_x, e.T, early.holdout_days).expected
        inner[label] = round(float(guess.sum() / early.holdout.sum() - 1), 4)
    return {
        "evaluate_json": result,
        "evaluate_seconds_median": round(statistics.median(timings), 2),
        "evaluate_seconds": [round(t, 2) for t in timings],
        "pareto_nbd_with_share": plain_figures,
        "calibration_split_total_error": inner,
        "oracle": oracle_ceilings(days, data),
    }


def oracle_ceilings(days, data) -> dict:
    """What the holdout itself allows, from (x, recency, age) and the spend: a logistic
    regression fitted on the holdout's buyers ranks them at AUC ...; a forecast equal to the
    holdout's own mean in each cell of history has MAE ... with the total exactly right."""
    from scipy.optimize import minimize

    s, bought = data.summary, data.holdout > 0
    gap = (s.T - s.t_x) / 100
    lx = np.log1p(s.x)
    columns = [lx, gap, gap**2, lx * gap, s.T / 100, (s.x == 0) * 1.0, lx**2]
    X = np.column_stack([np.ones_like(lx), *columns])
    X[:, 1:] = (X[:, 1:] - X[:, 1:].mean(0)) / X[:, 1:].std(0)

    def loss(b):
        z = X @ b
        return float(np.sum(np.logaddexp(0, z) - bought * z))

    fitted = minimize(loss, np.zeros(X.shape[1]), method="L-BFGS-B").x
    keys = np.minimum(s.x, 15) * 10**6 + np.floor((s.T - s.t_x) / 28) * 10**3 + np.floor(s.T / 28)
    _, inverse = np.unique(keys, return_inverse=True)
    means = np.bincount(inverse, data.holdout) / np.bincount(inverse)
    return {
        "auc_logistic_on_holdout_labels": round(auc(X @ fitted, bought), 4),
        "mae_cell_means_of_holdout": round(float(np.abs(means[inverse] - data.holdout).mean()), 4),
        "cells": int(inverse.max() + 1),
    }


async def phase_scale(url: str, runs: int, rescore: int) -> dict:
    from crm_core.churn import service
    from crm_core.sql import fetch

    await init_db(url, pool_size=4)
    results = []
    for run in range(runs):
        now = NOW + timedelta(minutes=run)
        started = time.perf_counter()
        histories = await service._histories(now, None)
        grouped = time.perf_counter()
        model, _ = pareto_nbd.fit(histories[0])
        fitted = time.perf_counter()
        done = await service.refresh_predictions(now)
        finished = time.perf_counter()
        results.append({
            "group_s": grouped - started, "fit_s": fitted - grouped,
            "refresh_s": finished - fitted, "customers": done.customers,
            "histories": done.histories, "parameters": model.as_dict(),
        })  # fmt: skip
        print(f"  run {run + 1}: {results[-1]}", flush=True)
    ids = [row["customer_id"] for row in await fetch(
        "SELECT customer_id FROM customer_predictions ORDER BY customer_id LIMIT $1", [rescore]
    )]  # fmt: skip
    started = time.perf_counter()
    for customer_id in ids:
        await service.rescore_customer(customer_id, NOW + timedelta(hours=1))
    each = (time.perf_counter() - started) / len(ids)
    await close_db()
    refresh = statistics.median(r["refresh_s"] for r in results)
    return {
        "runs": results,
        "customers": results[0]["customers"],
        "histories": results[0]["histories"],
        "group_median_s": statistics.median(r["group_s"] for r in results),
        "fit_median_s": statistics.median(r["fit_s"] for r in results),
        "refresh_median_s": refresh,
        "rescore_one_ms": each * 1000,
        "rescore_everyone_one_by_one_s": each * results[0]["customers"],
        "ratio_one_by_one_to_refresh": each * results[0]["customers"] / refresh,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phase", choices=["cdnow", "scale", "all"], default="all")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rescore", type=int, default=2000)
    parser.add_argument("--database", default=BENCH_URL)
    args = parser.parse_args()
    report = {}
    if args.phase in ("cdnow", "all"):
        report["cdnow"] = phase_cdnow(args.runs)
    if args.phase in ("scale", "all"):
        report["scale"] = asyncio.run(phase_scale(args.database, args.runs, args.rescore))
    print(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
