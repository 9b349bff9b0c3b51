"""`loyalty churn evaluate` from a terminal: one JSON object, or a clear refusal."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta

import numpy as np
import pytest
from typer.testing import CliRunner

from crm_core.churn.pareto_nbd import ParetoNBD
from loyalty.cli import cli
from tests.crm_core.churn.simulate import simulate

LOYALTY = [sys.executable, "-m", "loyalty.cli", "churn", "evaluate"]
START = date(2024, 1, 1)
DATES = ["--calibration-end", "2024-12-31", "--holdout-end", "2025-06-30"]


def run(*args: str) -> subprocess.CompletedProcess:
    """From a terminal: a process of its own."""
    return subprocess.run(
        [*LOYALTY, *args], capture_output=True, text=True, timeout=120, check=False
    )


def run_here(*args: str):
    """The same command in this process (the refusals need no process of their own each)."""
    return CliRunner().invoke(cli, ["churn", "evaluate", *args])


@pytest.fixture(scope="module")
def purchases(tmp_path_factory) -> tuple[str, int, int]:
    """Simulated customers as customer_id,date,amount lines, each purchase day written twice
    (two receipts that day) and a purchase after the holdout that must be ignored."""
    rng = np.random.default_rng(4)
    truth = ParetoNBD(r=0.9, alpha=30.0, s=0.8, beta=80.0)
    data = simulate(truth, customers=400, holdout_days=0.0, seed=4)
    lines, holdout_days = ["customer_id,date,amount"], 0
    calibration_end = date(2024, 12, 31)
    for number in range(400):
        first = calibration_end - timedelta(days=int(data.T[number]))
        days = {first}
        days.update(
            first + timedelta(days=int(d))
            for d in rng.uniform(0, data.T[number], int(data.x[number]))
        )
        holdout = rng.integers(1, 182, rng.integers(0, 3))
        later = {calibration_end + timedelta(days=int(d)) for d in holdout}
        holdout_days += len(later)
        for day in sorted(days | later):
            lines += [f"c{number},{day},12.50", f"c{number},{day},3.00"]
        lines.append(f"c{number},2026-01-01,9.99")
    path = tmp_path_factory.mktemp("churn") / "purchases.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path), 400, holdout_days


def test_evaluate_prints_one_json_object_for_both_models(purchases):
    path, customers, holdout_days = purchases
    done = run(path, *DATES)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["customers"] == customers
    assert result["actual_total"] == holdout_days  # two receipts on one day are one purchase
    figures = {"predicted_total", "mae", "auc", "auc_expected"}
    for block in (result, result["bg_nbd"]):
        assert figures <= set(block)
        assert block["predicted_total"] > 0 and block["mae"] > 0
        assert 0 <= block["auc"] <= 1 and 0 <= block["auc_expected"] <= 1
    assert set(result["parameters"]) == {"r", "alpha", "s", "beta", "share"}
    assert set(result["bg_nbd"]["parameters"]) == {"r", "alpha", "a", "b"}
    assert result["holdout_days"] == 181


@pytest.mark.parametrize(
    ("content", "dates", "message"),
    [
        ("c1,2024-02-01\nc1,2024-13-01\n", DATES, "line 2: '2024-13-01' is not a date"),
        ("c1,2024-02-01\nc2;2024-03-01\n", DATES, "line 2: expected customer_id,date[,amount]"),
        ("c1,2024-02-01,12.5\nc1,2024-03-01,lots\n", DATES, "line 2: 'lots' is not an amount"),
        ("c1,2025-02-01\n", DATES, "no customer bought on or before the calibration end"),
        ("c1,2024-02-01\nc2,2024-03-01\n", DATES, "too little history to fit"),
        (
            "c1,2024-02-01\nc1,2024-03-01\n",
            ["--calibration-end", "2024-12-31", "--holdout-end", "2024-12-01"],
            "the holdout must end after the calibration period",
        ),
        (
            "c1,2024-02-01\n",
            ["--calibration-end", "end of year", "--holdout-end", "2025-06-30"],
            "'end of year' is not a date",
        ),
    ],
    ids=[
        "bad_date",
        "bad_line",
        "bad_amount",
        "nobody_before",
        "no_repeat",
        "holdout_first",
        "bad_option",
    ],
)
def test_bad_input_is_refused_with_a_reason_and_a_failing_exit_status(
    tmp_path, content, dates, message
):
    path = tmp_path / "purchases.csv"
    path.write_text(content, encoding="utf-8")
    done = run_here(str(path), *dates)
    assert done.exit_code == 2
    assert message in done.stderr
    assert done.stdout == ""


def test_a_missing_file_is_named(tmp_path):
    done = run_here(str(tmp_path / "nowhere.csv"), *DATES)
    assert done.exit_code == 2
    assert "cannot read" in done.stderr and "nowhere.csv" in done.stderr
