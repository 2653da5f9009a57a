"""How readable is the package? Four numbers from its source, by `ast` (no import, no run).

    python -m bench.readability                 # this checkout's src/
    python -m bench.readability --src /other/checkout/src

What it measures, over every ``*.py`` under ``<src>/initlab``:

* **code lines**: the lines that hold a token of a statement, not counting blank lines,
  comment-only lines and docstrings (a string literal that is the first statement of a module,
  class or function).
* **check lines** (a heuristic, read it as such): the code lines of
  - every ``raise`` statement;
  - the test of an ``if``/``elif`` whose body ends in a ``raise`` (the guard of an error);
  - every statement that calls a check helper: a function of ``initlab.validate`` or
    ``initlab.constraints`` (``as_images``, ``positive_int``, ``check``, ...), resolved
    through the module's imports;
  - the ``except`` line of a handler whose body raises (an error re-raised as initlab's).
  The share printed is check lines / code lines. The check modules themselves are counted by
  the same rules (their raises and guards), not wholesale; a constraint table's entries
  (``"p": Real(0, 1)``) are data, not check lines, while the ``check(...)`` call is one.
* **teaching path**: the code lines of every function reachable from ``Conv2D.forward`` and
  ``Conv2D.backward`` (layers/linear.py), following calls by name within the package: plain names
  and ``module.name`` through the importing module's imports, ``self.method`` through the
  class and its bases, with the convolution switch on the readable path (the layer's
  ``self._conv`` is ``convolution/teaching.py``). A function counts once, however often it
  is called; NumPy's own functions do not count.
* **long functions**: functions (and methods) whose ``def`` spans more than 60 lines,
  docstring included; and the **largest module** by physical lines.
"""
from __future__ import annotations

import argparse
import ast
import io
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

CHECK_MODULES = ("initlab.validate", "initlab.constraints", "initlab.layer_entry")
TEACHING_ENTRIES = (("initlab.layers.linear", "Conv2D", "forward"), ("initlab.layers.linear", "Conv2D", "backward"))
# attribute bases that are modules picked at run time: the readable path's module
DYNAMIC_MODULES = {"self._conv": "initlab.convolution.teaching"}
LONG_FUNCTION = 60


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    lines: int
    code: set = field(default_factory=set)          # line numbers of code lines
    imports: dict = field(default_factory=dict)     # local name -> "initlab.x" or "initlab.x:func"


def _docstring_lines(tree) -> set:
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


def _code_lines(source: str, tree) -> set:
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENDMARKER, tokenize.ENCODING}
    lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in skip:
            lines.update(range(tok.start[0], tok.end[0] + 1))
    return lines - _docstring_lines(tree)


def _resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str:
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[:len(base) - (level - 1)] if level > 1 else base
    return ".".join(base + ([target] if target else []))


def load(src: Path) -> dict:
    """{module name: Module} for every file of the initlab package under src."""
    modules = {}
    root = src / "initlab"
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(src).with_suffix("")
        parts = list(rel.parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        name = ".".join(parts)
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        mod = Module(name, path, tree, source.count("\n") + (not source.endswith("\n")))
        mod.code = _code_lines(source, tree)
        mod.is_package = is_package
        modules[name] = mod
    for mod in modules.values():
        for node in ast.walk(mod.tree):
            if isinstance(node, ast.ImportFrom):
                base = (_resolve_relative(mod.name, mod.is_package, node.level, node.module)
                        if node.level else (node.module or ""))
                if not base.startswith("initlab"):
                    continue
                for alias in node.names:
                    local = alias.asname or alias.name
                    if f"{base}.{alias.name}" in modules:
                        mod.imports[local] = f"{base}.{alias.name}"
                    else:
                        mod.imports[local] = f"{base}:{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("initlab"):
                        mod.imports[alias.asname or alias.name] = alias.name
    return modules


# --------------------------------------------------------------------------- definitions

def _definitions(modules):
    """{(module, qualname): node} for module-level functions, classes and their methods."""
    defs = {}
    for mod in modules.values():
        for node in mod.tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defs[(mod.name, node.name)] = node
                if isinstance(node, ast.ClassDef):
                    for item in node.body:
                        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                            defs[(mod.name, f"{node.name}.{item.name}")] = item
    return defs


def _lookup(modules, defs, module: str, name: str, seen=None):
    """(module, name) of the definition `name` in `module`, following re-exports."""
    seen = seen or set()
    if (module, name) in seen or module not in modules:
        return None
    seen.add((module, name))
    if (module, name) in defs:
        return module, name
    target = modules[module].imports.get(name)
    if target and ":" in target:
        other, other_name = target.split(":")
        return _lookup(modules, defs, other, other_name, seen)
    return None


def _method(modules, defs, module, cls, name):
    """(module, "Class.name") for a method found on cls or its bases (by name, same module or imports)."""
    node = defs.get((module, cls))
    while isinstance(node, ast.ClassDef):
        if (module, f"{cls}.{name}") in defs:
            return module, f"{cls}.{name}"
        bases = [b.id for b in node.bases if isinstance(b, ast.Name)]
        if not bases:
            return None
        found = _lookup(modules, defs, module, bases[0])
        if found is None:
            return None
        module, cls = found
        node = defs.get(found)
    return None


def _callee(modules, defs, module, cls, func):
    """The definition a call's func expression names, or None."""
    if isinstance(func, ast.Name):
        found = _lookup(modules, defs, module, func.id)
        if found and isinstance(defs[found], ast.ClassDef):
            return _method(modules, defs, *found, "__init__")
        return found
    if isinstance(func, ast.Attribute):
        base = ast.unparse(func.value)
        if base in DYNAMIC_MODULES:
            return _lookup(modules, defs, DYNAMIC_MODULES[base], func.attr)
        if base == "self" and cls:
            return _method(modules, defs, module, cls, func.attr)
        if isinstance(func.value, ast.Name):
            target = modules[module].imports.get(func.value.id)
            if target and ":" not in target:
                return _lookup(modules, defs, target, func.attr)
    return None


def reachable(modules, defs, entries) -> list:
    """Every definition reachable from entries by calls, in the order first reached."""
    order, todo = [], list(entries)
    while todo:
        key = todo.pop(0)
        if key in order or key not in defs:
            continue
        order.append(key)
        module, qualname = key
        cls = qualname.split(".")[0] if "." in qualname else None
        for node in ast.walk(defs[key]):
            if isinstance(node, ast.Call):
                found = _callee(modules, defs, module, cls, node.func)
                if found and found not in order:
                    todo.append(found)
    return order


def _span_code(mod, node) -> int:
    return len([n for n in range(node.lineno, node.end_lineno + 1) if n in mod.code])


# --------------------------------------------------------------------------- check lines

def _is_check_call(modules, defs, module, node) -> bool:
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            func = call.func
            target = None
            if isinstance(func, ast.Name):
                target = modules[module].imports.get(func.id)
                found = _lookup(modules, defs, module, func.id)
                if found:
                    target = f"{found[0]}:{found[1]}"
            elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                target = modules[module].imports.get(func.value.id)
            if target and target.split(":")[0] in CHECK_MODULES:
                return True
    return False


def check_lines(modules, defs, mod) -> set:
    lines = set()

    def span(node, end=None):
        lines.update(n for n in range(node.lineno, (end or node.end_lineno) + 1) if n in mod.code)

    for node in ast.walk(mod.tree):
        if isinstance(node, ast.Raise):
            span(node)
        elif isinstance(node, ast.If) and node.body and isinstance(node.body[-1], ast.Raise):
            span(node.test)
            lines.add(node.lineno)
        elif isinstance(node, ast.ExceptHandler) and any(isinstance(n, ast.Raise) for n in node.body):
            lines.add(node.lineno)
        elif isinstance(node, ast.stmt) and not isinstance(
                node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.While,
                       ast.With, ast.Try)) and _is_check_call(modules, defs, mod.name, node):
            span(node)
    return lines & mod.code


# --------------------------------------------------------------------------- report

def measure(src: Path) -> dict:
    modules = load(src)
    defs = _definitions(modules)
    code = sum(len(m.code) for m in modules.values())
    checks = {name: check_lines(modules, defs, m) for name, m in modules.items()}
    n_checks = sum(len(c) for c in checks.values())
    path = reachable(modules, defs, [(m, f"{c}.{f}") for m, c, f in TEACHING_ENTRIES])
    path_rows = [(f"{m}:{q}", _span_code(modules[m], defs[(m, q)])) for m, q in path]
    long = sorted(((f"{m}:{q}", node.end_lineno - node.lineno + 1) for (m, q), node in defs.items()
                   if not isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > LONG_FUNCTION),
                  key=lambda r: -r[1])
    largest = max(modules.values(), key=lambda m: m.lines)
    worst = sorted(((name, len(c), len(modules[name].code)) for name, c in checks.items() if modules[name].code),
                   key=lambda r: -r[1] / r[2])
    return {"code_lines": code, "check_lines": n_checks, "check_share": n_checks / code,
            "teaching_path_lines": sum(n for _, n in path_rows), "teaching_path": path_rows,
            "long_functions": long, "largest_module": (largest.name, largest.lines),
            "check_share_by_module": worst}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.readability", description=__doc__.split("\n")[0])
    parser.add_argument("--src", type=Path, default=Path(__file__).resolve().parent.parent / "src",
                        help="the folder holding the initlab package (default: this checkout's src)")
    parser.add_argument("--verbose", action="store_true", help="list the teaching path and each module's share")
    args = parser.parse_args(argv)
    r = measure(args.src)
    print(f"source: {args.src}")
    print(f"check/error lines: {r['check_lines']} of {r['code_lines']} code lines = {100 * r['check_share']:.1f}%"
          " (goal <= 10%)")
    print(f"teaching path from Conv2D.forward/backward: {r['teaching_path_lines']} code lines in "
          f"{len(r['teaching_path'])} functions (goal <= 120)")
    if args.verbose:
        for name, n in r["teaching_path"]:
            print(f"    {n:4d}  {name}")
    print(f"functions over {LONG_FUNCTION} lines: {len(r['long_functions'])}")
    for name, n in r["long_functions"]:
        print(f"    {n:4d}  {name}")
    print(f"largest module: {r['largest_module'][0]} ({r['largest_module'][1]} lines; goal <= 400)")
    if args.verbose:
        print("check share by module (worst first):")
        for name, c, n in r["check_share_by_module"][:25]:
            print(f"    {100 * c / n:5.1f}%  {c:4d}/{n:<4d} {name}")
    return r


if __name__ == "__main__":
    main()
