"""`initlab depth`: does the init decide whether a deep plain ConvNet trains?

Plain ConvNets (no batch norm, no skip connections; default 10, 20 and 30 layers, ReLU) trained
on the digits with Glorot, He and He-scaled orthogonal init for several seeds, plus tanh with
delta-orthogonal kernels at criticality at the largest depth: loss curves, steps to a loss
threshold, and at init the Glorot/He ratio of the first layer's gradient against
2^(-(L-1)/2). --max-depth N adds a run at N layers (hundreds work, slowly). Writes result.json
and the figures (PNG) to --out.
"""
from __future__ import annotations


from .. import init, initializers
from ..errors import InitlabError, InvalidValueError, UnknownNameError
from ..experiments import depth as study
from . import ui
from ._common import add_common, given_options, study_command, study_preset
from ._options import MAX_DEPTH, check_at_most, split_ints, split_list

ORDER = 23


def _cell(value):
    return "never" if value is None else f"{value:g}"


def _print_tables(result):
    s = result["settings"]
    names = list(result["inits"]) + (["delta_orthogonal"] if "critical" in result else [])
    rows = []
    for depth in result["depths"]:
        for name in names:
            r = result["runs"].get(f"{name}@{depth}")
            if r is None:
                continue
            median = _cell(r["median_steps"])
            if r["median_steps"] is not None and r["median_censored"]:   # a run that never got there is in it
                median = f">= {median}"
            rows.append((f"{depth}", name, f"{r['lr']:.3g}", median,
                         ", ".join(_cell(v) for v in r["steps_to_threshold"]),
                         ", ".join(f"{v:.2f}" for v in r["final_loss"])))
    ui.print_table(f"steps until the loss falls below {s['threshold']:g} (budget {s['steps']} steps)",
                   ["depth", "init", "lr", "median steps", "per seed", "final loss"], rows)
    ratios = list(result["grad_ratio"].items())
    if "deep" in result:
        ratios.append((str(result["deep"]["depth"]), result["deep"]["grad_ratio"]))
    # the claim tests the normalized ratio (the head and the loss divided out) against theory
    rows = [(depth, f"{r['theory']:.3g}", f"{r['ratio_gmean']:.3g}", f"{r['ratio_normalized_gmean']:.3g}",
             f"{r['ratio_normalized_gmean'] / r['theory']:.2f}") for depth, r in ratios]
    ui.print_table("first layer's gradient at init, Glorot / He",
                   ["depth", "theory 2^(-(L-1)/2)", "measured", "normalized by top layer", "normalized / theory"], rows)


def depth(args) -> int:
    kwargs = study_preset(args, study)
    if args.depths is not None:
        kwargs["depths"] = tuple(check_at_most(d, MAX_DEPTH, "--depths") for d in split_ints(args.depths, "--depths"))
    if args.inits is not None:
        items = split_list(args.inits, "--inits")
        kwargs["inits"] = tuple(study_name(item) for item in items)
        if len(set(kwargs["inits"])) < len(items):
            raise InvalidValueError(f"--inits: {args.inits!r} names one study init twice "
                                    f"(as {', '.join(f'{i}={s}' for i, s in zip(items, kwargs['inits']))})")
    if args.no_critical:
        kwargs["critical"] = False
    kwargs.update(given_options(args, ("width", "steps", "threshold", "lr", "batch_size", "max_depth", "deep_steps")))
    return study_command(args, "depth", "depth", kwargs, _print_tables)


def study_name(item: str) -> str:
    """A study init by its name, or by any name of the same scheme ("kaiming", "he_normal" -> "he")."""
    if item in study.INITS:
        return item
    try:
        spec = init.describe(item)
    except InitlabError:
        spec = None
    schemes = {init.describe(scheme): key for key, (_, scheme) in study.INITS.items()}
    if spec in schemes:
        return schemes[spec]
    accepted = [*study.INITS, *(n for n in init.names(aliases=True) if init.describe(n) in schemes)]
    raise UnknownNameError(f"--inits: unknown init {item!r} for this study{initializers.suggest(item, accepted)} "
                           f"(valid: {', '.join(study.INITS)}, or another name of their schemes)")


def register(sub):
    p = sub.add_parser("depth", help="train deep plain ConvNets with Glorot vs He vs orthogonal init",
                       description=__doc__)
    add_common(p, default_out="initlab-depth", default_seeds="2")
    p.add_argument("--depths", default=None, help="comma-separated depths in conv layers (default 10,20,30)")
    p.add_argument("--inits", default=None, help=f"comma-separated inits among {', '.join(study.INITS)} (default all)")
    p.add_argument("--width", type=int, default=None, help="channels per conv layer (default 16)")
    p.add_argument("--steps", type=int, default=None, help="budget of SGD steps per run (default 300)")
    p.add_argument("--threshold", type=float, default=None, help="training loss to reach, from ln 10 = 2.30 at the start (default 2.0)")
    p.add_argument("--lr", type=float, default=None,
                   help="learning rate at 10 layers; it scales as 10/depth (default 0.015)")
    p.add_argument("--batch-size", dest="batch_size", type=int, default=None, help="batch size (default 32)")
    p.add_argument("--max-depth", dest="max_depth", type=int, default=None,
                   help="also train tanh delta-orthogonal and ReLU He at this depth (e.g. 200; slow)")
    p.add_argument("--deep-steps", dest="deep_steps", type=int, default=None,
                   help="step budget of the --max-depth runs (default 200)")
    p.add_argument("--no-critical", dest="no_critical", action="store_true",
                   help="skip the tanh delta-orthogonal run at the largest depth")
    p.add_argument("--tiny", action="store_true", help="test-sized settings (seconds)")
    p.set_defaults(func=depth, sizes="--seeds, --depths, --max-depth, --width, --steps")
    return p
