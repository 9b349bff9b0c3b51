"""`loyalty churn evaluate FILE --calibration-end D --holdout-end D` and `loyalty churn refresh`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

churn = typer.Typer(help="Churn and next-purchase model.", no_args_is_help=True)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (use YYYY-MM-DD)") from None


@churn.command("evaluate")
def evaluate_command(
    path: Annotated[
        Path,
        typer.Argument(dir_okay=False, help="customer_id,date[,amount] lines (a header is fine)."),
    ],
    calibration_end: Annotated[str, typer.Option(help="Last day the models may see (YYYY-MM-DD).")],
    holdout_end: Annotated[str, typer.Option(help="Last day of the holdout (YYYY-MM-DD).")],
) -> None:
    """Fit on the calibration period only; print one JSON object comparing the Pareto/NBD
    and a BG/NBD baseline with what the customers did in the holdout."""
    from crm_core.churn.evaluate import BadInput, evaluate, read_days, split

    calibration, holdout = _date(calibration_end), _date(holdout_end)
    try:
        with path.open(encoding="utf-8-sig") as handle:
            days = read_days(handle)
        result = evaluate(split(days, calibration, holdout))
    except OSError as error:
        typer.echo(f"cannot read {path}: {error.strerror or error}", err=True)
        raise typer.Exit(2) from None
    except UnicodeDecodeError:
        typer.echo(f"{path} is not UTF-8 text", err=True)
        raise typer.Exit(2) from None
    except BadInput as error:
        typer.echo(f"{path}: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(result))


@churn.command("refresh")
def refresh_command() -> None:
    """Fit the model on every customer and score them all now (the scheduler does it
    nightly)."""
    from crm_core.churn.service import refresh_predictions
    from crm_core.clock import utcnow
    from loyalty.cli import _with_db

    done = _with_db(lambda: refresh_predictions(utcnow()))
    typer.echo(
        f"scored {done.customers} customers ({done.histories} distinct histories) "
        f"with model {done.model_id}"
    )
