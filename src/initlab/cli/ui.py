"""Terminal output for the CLI: tables, numbers and progress bars (rich lives only here, in cli/).

Numbers are never cut: `print_table` gives a numeric column (and the first, naming the row)
at least the width of its longest cell and never wraps it; text columns wrap at spaces (a word longer than its column folds, it
is not cut). A table wider than the terminal (or than 80 columns when the output is not a
terminal) is printed at the width it needs. Floats are shown with 4 significant digits,
exponents kept (`number`).
"""
from __future__ import annotations

import math
import re
import sys

from rich.console import Console
from rich.measure import Measurement
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.table import Table

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

DIGITS = 4
# a cell that is a number (or a few, or a number with a unit or a % sign)
_NUMERIC = re.compile(r"^[-+]?(\d[\d,]*\.?\d*|\.\d+|inf|nan)(e[-+]?\d+)?%?( ?[-+/x]? ?[-+]?(\d[\d,]*\.?\d*)(e[-+]?\d+)?%?)*$",
                      re.IGNORECASE)


def number(value, digits: int = DIGITS) -> str:
    """A float with `digits` significant digits, its exponent kept: 50.474999999999994 -> '50.47',
    1.1912e-05 -> '1.191e-05', 0.1 -> '0.1'; ints and other values as str."""
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return f"{value:.{digits}g}"


def value(v, digits: int = DIGITS, items: int = 6) -> str:
    """Any JSON-like value for a table cell: floats by `number`, lists cut after `items` entries
    ("...": the list, not a number, is shortened), dicts as key=value."""
    if isinstance(v, float):
        return number(v, digits)
    if isinstance(v, (list, tuple)):
        shown = ", ".join(value(x, digits, items) for x in v[:items])
        return f"[{shown}{', ...' if len(v) > items else ''}]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}={value(x, digits, items)}" for k, x in v.items()) + "}"
    return str(v)


def _is_numeric(column_cells) -> bool:
    cells = [c for c in column_cells if c not in ("", "-", "—")]
    return bool(cells) and all(_NUMERIC.match(c) for c in cells)


def table(title, columns, rows) -> Table:
    """The rich Table of `print_table` (cells: floats by `number`, anything else by str)."""
    cells = [[number(cell) if isinstance(cell, float) else str(cell) for cell in row] for row in rows]
    out = Table(title=title, title_justify="left")
    for index, column in enumerate(columns):
        column_cells = [row[index] for row in cells if index < len(row)]
        numeric = index > 0 and _is_numeric(column_cells)
        if numeric or index == 0:       # numbers, and the row's name, on one line each
            width = max([len(c) for c in column_cells] + [1])
            out.add_column(str(column), justify="right" if numeric else "left", no_wrap=True,
                           min_width=width, overflow="fold")
        else:
            out.add_column(str(column), justify="left", overflow="fold")
    for row in cells:
        out.add_row(*row)
    return out


def print_table(title, columns, rows, file_console=None):
    """Print rows (sequences of cells) under the given column names, never cutting a cell."""
    target = file_console or console
    rendered = table(title, columns, rows)
    needed = Measurement.get(target, target.options, rendered).minimum
    target.print(rendered, width=max(target.width, needed), crop=False)


def progress(enabled=None) -> Progress:
    """A progress bar on stderr; hidden when stderr is not a terminal unless enabled=True."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TimeRemainingColumn(),
        console=err_console, disable=not enabled, transient=False,
    )
