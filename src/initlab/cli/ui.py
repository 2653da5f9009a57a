"""Terminal output for the CLI: tables and progress bars (rich lives only here, in cli/)."""
from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.table import Table

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def print_table(title, columns, rows):
    """Print rows (sequences of cells, formatted with str) under the given column names."""
    table = Table(title=title, title_justify="left")
    for index, column in enumerate(columns):
        table.add_column(str(column), justify="left" if index == 0 or column in ("init", "name", "claim") else "right")
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    console.print(table)


def number(value) -> str:
    """A number for a table: 4 significant digits, the exponent kept (1.19e-05, 50.47, 8)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return str(value) if isinstance(value, int) else format(value, ".4g")


def progress(enabled=None) -> Progress:
    """A progress bar on stderr; hidden when stderr is not a terminal unless enabled=True."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TimeRemainingColumn(),
        console=err_console, disable=not enabled, transient=False,
    )
