"""What every lab command shares: --seeds/--out/--force options, the output folder, saving."""
from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

from ..errors import InvalidValueError
from ..experiments import to_jsonable
from . import ui


def seeds_arg(text: str) -> tuple[int, ...]:
    """'3' -> (0, 1, 2); '0,5,9' -> (0, 5, 9)."""
    try:
        if "," in text:
            seeds = tuple(int(s) for s in text.split(",") if s.strip())
        else:
            seeds = tuple(range(int(text)))
    except ValueError:
        raise InvalidValueError(f"--seeds: expected a count (3) or a list (0,5,9), got {text!r}") from None
    if not seeds or min(seeds) < 0:
        raise InvalidValueError(f"--seeds: expected at least one seed >= 0, got {text!r}")
    return seeds


def add_common(parser, *, default_out, default_seeds="2"):
    parser.add_argument("--seeds", type=seeds_arg, default=seeds_arg(default_seeds),
                        help=f"a count (3 = seeds 0,1,2) or a list (0,5,9); default {default_seeds}")
    parser.add_argument("--out", type=Path, default=Path(default_out), help=f"output folder (default {default_out})")
    parser.add_argument("--force", action="store_true", help="write into an existing output folder")


def prepare_out(out: Path, force: bool) -> Path:
    """Create the output folder; refuse an existing non-empty one unless force."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InvalidValueError(f"--out: {out} exists and is not a folder")
    if out.exists() and any(out.iterdir()) and not force:
        raise InvalidValueError(f"--out: folder {out} already exists and is not empty; pass --force to overwrite")
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_json(path: Path, data) -> Path:
    """Write JSON atomically (temp file, fsync, rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(to_jsonable(data), fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def save_study_files(module_name: str, result: dict, out: Path) -> list[Path]:
    """Draw a study's figures (its plots module's FIGURES as PNG, ANIMATIONS as GIF) into out."""
    from ..plots import save   # matplotlib only when there is something to draw
    figures = importlib.import_module(f"initlab.plots.{module_name}")
    paths = [save(make(result), Path(out) / f"{name}.png") for name, make in figures.FIGURES.items()]
    for name, write in getattr(figures, "ANIMATIONS", {}).items():
        written = write(result, Path(out) / f"{name}.gif")
        if written:
            paths.append(Path(written))
        else:
            ui.err_console.print(f"initlab: {name}.gif not written: Pillow (for matplotlib's PillowWriter) "
                                 "is not installed")
    return paths


def run_study(label: str, module_name: str, kwargs: dict, out: Path, print_tables) -> tuple[dict, list[Path]]:
    """Run a study with a progress bar, print its tables and claims, write its figures and
    result.json into out; returns (result, paths written)."""
    study = importlib.import_module(f"initlab.experiments.{module_name}")
    result = run_with_progress(label, study.run, **kwargs)
    print_tables(result)
    print_claims(result)
    paths = save_study_files(module_name, result, out)
    paths.append(write_json(Path(out) / "result.json", result))
    return result, paths


def report_written(paths, out, seconds):
    ui.console.print(f"wrote {len(paths)} files to {out} ({seconds:.0f} s)")


def print_claims(result: dict):
    rows = []
    for c in result.get("claims", []):
        measured = ", ".join(f"{k}={_fmt(v)}" for k, v in c["measured"].items())
        rows.append(("yes" if c["holds"] else "NO", c["claim"], measured))
    if rows:
        ui.print_table("claims checked in this run", ["holds", "name", "measured"], rows)


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.3g}"
    if isinstance(v, list) and len(v) > 6:
        return f"[{', '.join(_fmt(x) for x in v[:6])}, ...]"
    if isinstance(v, list):
        return f"[{', '.join(_fmt(x) for x in v)}]"
    return str(v)


def run_with_progress(label, fn, **kwargs):
    """Call an experiment's run() with a rich progress bar fed by its progress callback."""
    with ui.progress() as bar:
        task = bar.add_task(label, total=None, status="")

        def progress(done, total, status=""):
            bar.update(task, completed=done, total=total, status=status)

        return fn(progress=progress, **kwargs)
