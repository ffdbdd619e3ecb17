"""`amlops infra`: the infrastructure program's plan, policy results and cost, without the Pulumi CLI."""

from __future__ import annotations

from pathlib import Path

import typer

from amlops.cli.common import RepoOption
from amlops.cli.output import Format, fail, format_option, out

app = typer.Typer(help="Infrastructure: plan, policy and cost of the Pulumi program.", no_args_is_help=True)


@app.command()
def plan(
    env: str = typer.Option(..., "--env", help="environment (stack) name, or `shared`"),
    format: Format = format_option(Format.text, Format.json, Format.markdown),
    base: str | None = typer.Option(None, "--base", help="git revision to compare with, e.g. origin/main"),
    root: Path = RepoOption,
) -> None:
    """Evaluate infra/ under Pulumi's mocks: resources, policy results, estimated monthly cost.

    Exits 1 when a mandatory policy fails, 2 when the program cannot be evaluated.
    """
    from amlops.infraplan import render
    from amlops.infraplan.inventory import ProgramError, UnmockedCall
    from amlops.infraplan.plan import make_plan

    try:
        result = make_plan(root.resolve(), env, base)
    except (ProgramError, UnmockedCall, ValueError, FileNotFoundError) as exc:
        fail(f"error: {exc}", code=2)
    if format is Format.json:
        typer.echo(render.as_json(result))
    elif format is Format.markdown:
        typer.echo(render.as_markdown(result))
    else:
        out.print(render.as_table(result))
    if result.blocking:
        raise typer.Exit(1)


@app.command()
def prices(
    refresh: bool = typer.Option(False, "--refresh", help="query the Azure Retail Prices API and update the sheet"),
    region: list[str] = typer.Option([], "--region", help="regions to refresh (default: those in the sheet)"),
    root: Path = RepoOption,
) -> None:
    """Show the price sheet (infra/prices.csv), or refresh it from https://prices.azure.com."""
    from amlops.infraplan.prices import ANY_REGION, SHEET, PriceRefreshError, PriceSheet, fetch
    from amlops.manifests.skus import VM_SIZES

    path = root / SHEET
    sheet = PriceSheet.load(path)
    if refresh:
        regions = region or sorted({p.region for p in sheet.prices} - {ANY_REGION})
        try:
            found = fetch(regions, [size.name for size in VM_SIZES.values()])
        except PriceRefreshError as exc:
            fail(f"error: {exc}")
        sheet = sheet.merged(found)
        sheet.save(path)
        typer.echo(f"updated {len(found)} prices in {path}")
        return
    for p in sheet.prices:
        if not region or p.region in region:
            typer.echo(f"{p.region:12} {p.sku:28} {p.priority:12} {p.unit_price:9.4f} {p.currency}/h  {p.date}  {p.note}")
