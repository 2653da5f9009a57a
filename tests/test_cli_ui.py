"""The console never cuts a number: 4 significant digits with the exponent kept, and a table
wider than the terminal is printed at the width it needs."""
import io

from rich.console import Console

from initlab.cli import ui


def test_numbers_keep_four_significant_digits_and_their_exponent():
    assert ui.number(50.474999999999994) == "50.47"
    assert ui.number(1.1912345e-05) == "1.191e-05"
    assert ui.number(8.379e12) == "8.379e+12"
    assert ui.number(0.1) == "0.1" and ui.number(3) == "3" and ui.number(True) == "True"
    assert ui.value({"value": 50.474999999999994, "censored": False}) == "{value=50.47, censored=False}"
    assert ui.value(list(range(8))) == "[0, 1, 2, 3, 4, 5, ...]"


def test_a_wide_table_on_a_narrow_console_cuts_nothing():
    sink = io.StringIO()
    narrow = Console(file=sink, width=40, highlight=False)
    values = [1.1912345e-05 * 10 ** k for k in range(9)]
    ui.print_table("wide", ["name"] + [f"column {k}" for k in range(9)],
                   [("a_rather_long_row_name", *values)], file_console=narrow)
    text = sink.getvalue()
    assert "…" not in text
    assert "a_rather_long_row_name" in text
    for v in values:
        assert ui.number(v) in text          # each number whole, on one line


def test_text_columns_wrap_at_spaces():
    sink = io.StringIO()
    narrow = Console(file=sink, width=30, highlight=False)
    ui.print_table("t", ["name", "note"], [("x", "a sentence that is longer than the console is wide")],
                   file_console=narrow)
    text = sink.getvalue()
    assert "…" not in text and "sentence" in text and "wide" in text
