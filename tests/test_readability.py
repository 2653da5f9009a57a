"""bench/readability.py: the teaching path from Conv2D.forward/backward stays short and check-free,
and its check-line heuristic counts what its docstring says."""
import textwrap
from pathlib import Path

from bench import readability

SRC = Path(__file__).resolve().parent.parent / "src"


def test_the_teaching_path_from_conv2d_is_short_and_reads_no_check_helper():
    r = readability.measure(SRC)
    names = [name for name, _ in r["teaching_path"]]
    assert "initlab.layers.linear:Conv2D.forward" in names and "initlab.convolution.teaching:col2im" in names
    assert r["teaching_path_lines"] <= 120, r["teaching_path"]
    assert not [n for n in names if n.startswith(("initlab.validate", "initlab.constraints", "initlab.layer_entry"))]


def test_check_lines_are_raises_their_guards_and_check_calls(tmp_path):
    package = tmp_path / "initlab"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "validate.py").write_text("def positive_int(v, name):\n    return v\n")
    (package / "thing.py").write_text(textwrap.dedent('''\
        """Docstring: not code."""
        from .validate import positive_int

        def f(x, n):
            # a comment
            n = positive_int(n, "n")
            if x < 0:
                raise ValueError("x")
            y = x + n
            return y
        '''))
    modules = readability.load(tmp_path)
    defs = readability._definitions(modules)
    mod = modules["initlab.thing"]
    assert readability.check_lines(modules, defs, mod) == {6, 7, 8}
    assert mod.code == {2, 4, 6, 7, 8, 9, 10}     # no docstring, comment or blank line
