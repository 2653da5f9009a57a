"""The floors of docs/architecture.md hold: imports only go down, and heavy libraries stay in their rooms.

Each module is imported in a fresh interpreter, and the third-party packages it pulled in are
compared with what its floor allows. A second check reads the source (ast) for imports of
initlab modules on higher floors, and for pickle.
"""
import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path


import initlab

SRC = Path(initlab.__file__).parent

FLOORS = {
    "errors": 0, "rng": 0, "validate": 0, "constraints": 0, "atomic": 0, "bounded": 0,
    "init": 1, "filters": 1, "convolution": 1, "functional": 1,
    "layers": 2, "layer_entry": 2, "losses": 2,
    "model": 3, "state_checks": 3, "models": 3, "optim": 3, "optim_checks": 3, "data": 3, "recompute": 3, "schedules": 3,
    "train": 4, "fit_checks": 4, "run_state": 4, "checkpoint": 4, "trained": 4, "runfolder": 4,
    "diagnostics": 5, "propagation": 5, "lsuv": 5, "patchinit": 5, "patches": 5, "theory": 5, "spectrum": 5,
    "initializers": 5,
    "experiments": 6, "estimator": 6, "estimator_inputs": 6, "lab": 6, "claims": 6,
    "plots": 7, "report": 7,
    "cli": 8,
}

# third-party packages a module may load (beyond numpy), by module or package prefix
ALLOWED = {
    "data": {"sklearn", "scipy", "joblib", "threadpoolctl"},   # sklearn's digits (lazily)
    # scikit-learn pulls in its own dependencies (scipy, joblib, narwhals, ...): any but a framework
    "estimator": None,
    "experiments.cv": None,   # the study *is* scikit-learn's cross-validation
    "checkpoint": {"safetensors"},
    "lab": {"threadpoolctl"},   # joblib and dask.distributed are imported only when a grid runs
    "trained": {"safetensors"},   # through checkpoint, which it loads models with
    "runfolder": {"safetensors"},   # through checkpoint
    "plots": {"matplotlib", "PIL", "pyparsing", "cycler", "kiwisolver", "dateutil", "fontTools",
              "packaging", "six", "contourpy", "mpl_toolkits"},
    "report": {"matplotlib", "PIL", "pyparsing", "cycler", "kiwisolver", "dateutil", "fontTools",
               "packaging", "six", "contourpy", "mpl_toolkits"},
    "cli": None,   # the top floor may load anything the package depends on (never a DL framework)
}
# where scikit-learn may be imported at all (docs/architecture.md: data for digits, the estimator, and the CV study)
SKLEARN_ROOMS = {"data", "estimator", "experiments.cv", "cli"}
FRAMEWORKS = {"torch", "tensorflow", "jax", "keras", "paddle", "mxnet"}


def all_modules():
    names = []
    for info in pkgutil.walk_packages([str(SRC)], prefix=""):
        names.append(info.name)
    return sorted(n for n in names if not n.startswith("__"))


def floor_of(name):
    parts = name.split(".")
    return FLOORS.get(parts[0])


def allowed_for(name):
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        key = ".".join(parts[:i])
        if key in ALLOWED:
            return ALLOWED[key]
    return set()


def test_every_module_has_a_floor():
    missing = [m for m in all_modules() if floor_of(m) is None]
    assert not missing, f"modules not on docs/architecture.md's map: {missing}"


def test_imports_only_go_down():
    bad = []
    for name in all_modules():
        path = SRC.joinpath(*name.split("."))
        path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        tree = ast.parse(path.read_text())
        package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                    mod = ".".join(base + ([node.module] if node.module else []))
                    targets = [mod] if node.module else [".".join(base + [a.name]) for a in node.names]
                elif node.module and node.module.startswith("initlab."):
                    targets = [node.module[len("initlab."):]]
            elif isinstance(node, ast.Import):
                targets = [a.name[len("initlab."):] for a in node.names if a.name.startswith("initlab.")]
            for target in targets:
                top = target.split(".")[0] if target else ""
                if top in FLOORS and FLOORS[top] > floor_of(name):
                    bad.append(f"{name} (floor {floor_of(name)}) imports {target} (floor {FLOORS[top]})")
    assert not bad, "\n".join(bad)


def test_third_party_imports_stay_in_their_rooms():
    code = (
        "import json, sys, importlib\n"
        "before = set(sys.modules)\n"
        "importlib.import_module('initlab.' + sys.argv[1])\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - before})))\n"
    )
    problems = []
    for name in all_modules():
        out = subprocess.run([sys.executable, "-c", code, name], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, f"importing initlab.{name} failed:\n{out.stderr}"
        loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
        third = {m for m in loaded if m not in sys.stdlib_module_names and not m.startswith("_")
                 and m not in ("initlab", "numpy")}
        if "sklearn" in third and not any(name == r or name.startswith(r + ".") for r in SKLEARN_ROOMS):
            problems.append(f"{name} loads scikit-learn outside its rooms")
        if third & FRAMEWORKS:
            problems.append(f"{name} loads a deep learning framework: {third & FRAMEWORKS}")
        allowed = allowed_for(name)
        if allowed is not None and third - allowed:
            problems.append(f"{name} (floor {floor_of(name)}) loads {sorted(third - allowed)}")
    assert not problems, "\n".join(problems)


def test_no_pickle_anywhere_in_the_package():
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        assert "import pickle" not in text and "allow_pickle=True" not in text, path
