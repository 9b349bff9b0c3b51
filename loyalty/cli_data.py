"""`loyalty import products|customers|purchases FILE` and `loyalty export segment ID`."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from loyalty.settings import get_settings

FileArgument = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, help="CSV (, ; or tab) with a header row.")
]
EncodingOption = Annotated[
    str | None,
    typer.Option(
        "--encoding",
        help="The file's text encoding (utf-8, utf-16, cp1251, ...); found by itself if not given.",
    ),
]


def _run(work: Callable[[], Awaitable[Any]]) -> Any:
    from crm_core.db import close_db, init_db

    async def main() -> Any:
        await init_db(get_settings().database_url, pool_size=4)
        try:
            return await work()
        finally:
            await close_db()

    return asyncio.run(main())


def _print_report(report: Any) -> None:
    typer.echo(
        f"rows {report.rows}, imported {report.imported}"
        + (f" ({report.lines} lines)" if report.kind == "purchases" else "")
        + f", unchanged {report.unchanged}, rejected rows {report.rejected_rows}"
    )
    for rejection in report.rejections:
        typer.echo(f"row {rejection.row}, column {rejection.column}: {rejection.reason}")
    if report.rejected_rows > len(report.rejections):
        typer.echo(f"... and {report.rejected_rows - len(report.rejections)} more")
    if report.products_ranked is not None:
        typer.echo(f"recommendations rebuilt: {report.products_ranked} product ranks")


def file_encoding(path: Path, named: str | None) -> str:
    """The encoding to read an import in, said on stderr; if there is none, one plain line
    saying why (exit status 2, as for other usage errors)."""
    from crm_core.imports.csvfile import UnknownEncoding, UnreadableText, encoding_of

    try:
        encoding = encoding_of(path, named)
    except UnknownEncoding as unknown:
        typer.echo(f"Error: {unknown}.", err=True)
        raise typer.Exit(code=2) from None
    except UnreadableText as unreadable:
        hint = "" if unreadable.encoding else ". Save it as CSV UTF-8, or name it with --encoding"
        typer.echo(f"Error: {path.name}: {unreadable}{hint}.", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(f"reading {path.name} as {encoding}", err=True)
    return encoding


def _import(
    path: Path,
    required: tuple[str, ...],
    job: Callable[[Any], Awaitable[Any]],
    encoding: str | None = None,
) -> None:
    from crm_core.imports.csvfile import CsvFile, MissingColumns

    source = CsvFile(path, encoding=file_encoding(path, encoding))
    with typer.progressbar(length=path.stat().st_size, label=path.name, file=sys.stderr) as bar:
        done = 0

        def progress(position: int) -> None:
            nonlocal done
            bar.update(max(0, position - done))
            done = max(done, position)

        source.on_progress = progress
        try:
            report = _run(lambda: job(source.rows(required)))
        except MissingColumns as missing:
            raise typer.BadParameter(f"missing columns: {missing}") from None
    _print_report(report)
    if report.rejected_rows:
        raise typer.Exit(code=1)


def register(importer: typer.Typer, cli: typer.Typer) -> None:
    """Add the data commands to the `loyalty` CLI."""

    @importer.command("products")
    def import_products_command(path: FileArgument, encoding: EncodingOption = None) -> None:
        """Catalogue: sku, name, optional category ("Dairy/Milk"). Idempotent on the SKU."""
        from crm_core.clock import utcnow
        from crm_core.imports.products import REQUIRED, import_products

        _import(path, REQUIRED, lambda rows: import_products(rows, utcnow()), encoding)

    @importer.command("customers")
    def import_customers_command(path: FileArgument, encoding: EncodingOption = None) -> None:
        """Customers: phone, first_name, optional card_number, birth_date, gender, city,
        language, marketing_consent and custom field keys. Keyed by phone."""
        from crm_core.cards.service import CardNumberPolicy
        from crm_core.clock import utcnow
        from crm_core.imports.customers import REQUIRED, import_customers

        settings = get_settings()
        policy = CardNumberPolicy(settings.card_number_prefix, settings.card_serial_digits)
        _import(
            path,
            REQUIRED,
            lambda rows: import_customers(
                rows,
                settings.default_phone_region,
                settings.default_language,
                settings.default_timezone,
                policy,
                utcnow(),
            ),
            encoding,
        )

    @importer.command("purchases")
    def import_purchases_command(path: FileArgument, encoding: EncodingOption = None) -> None:
        """Receipt lines: store, receipt_id, purchased_at, sku, quantity, unit_price,
        line_total; optional card_number, name, category, discount, till. A receipt's rows
        follow each other; a receipt is imported whole or not at all."""
        from crm_core.clock import utcnow
        from crm_core.imports.purchases import REQUIRED, import_purchases

        _import(path, REQUIRED, lambda rows: import_purchases(rows, utcnow()), encoding)

    exporter = typer.Typer(help="Export data.", no_args_is_help=True)
    cli.add_typer(exporter, name="export")

    @exporter.command("segment")
    def export_segment_command(
        segment_id: Annotated[int, typer.Argument(help="The segment's id.")],
        output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
        format: Annotated[
            str, typer.Option("--format", "-f", help="csv, xlsx, xml or json")
        ] = "csv",
        columns: Annotated[
            str | None, typer.Option(help="Comma-separated columns (default: a useful set).")
        ] = None,
    ) -> None:
        """Write a segment's members to a file, streamed."""
        from crm_core.segments import exports
        from crm_core.segments.models import Segment

        try:
            fmt = exports.ExportFormat(format)
            names = exports.check_columns(columns.split(",") if columns else None)
        except ValueError as problem:
            raise typer.BadParameter(str(problem)) from None

        async def write() -> int:
            if not await Segment.exists(id=segment_id):
                raise typer.BadParameter(f"no segment {segment_id}")
            written = 0
            with output.open("wb") as handle:
                async for chunk in exports.export(segment_id, names, fmt):
                    handle.write(chunk)
                    written += len(chunk)
            return written

        size = _run(write)
        typer.echo(f"wrote {size} bytes to {output}")
