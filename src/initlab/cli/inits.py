"""`initlab inits`: every initializer name initlab takes, with its formula, fan mode, gain and
reference (the one vocabulary of `initlab.initializers`, shared by every command and the
Python API). `--json` prints the same rows as JSON."""
from __future__ import annotations

import json

from .. import initializers
from . import ui

ORDER = 12


def run(args) -> int:
    rows = initializers.catalog()
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    ui.print_table("initializers ('--init NAME', 'weight_init=NAME'; spec strings such as "
                   "'normal(std=0.01)' or 'he_normal*0.1' too)",
                   ["name", "aliases", "formula", "fan", "gain", "reference"],
                   [(row["name"] + (" (data)" if row["data_dependent"] else ""), ", ".join(row["aliases"]) or "-",
                     row["formula"], row["fan"], row["gain"], row["reference"]) for row in rows])
    print("(data): sees the training images first; 'initlab train --init lsuv' applies it, from Python "
          "initlab.initializers.apply(model, 'lsuv', x_train)")
    return 0


def register(sub):
    p = sub.add_parser("inits", help="list the initializer names with formula, fan mode, gain and reference",
                       description=__doc__)
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.set_defaults(func=run)
    return p
