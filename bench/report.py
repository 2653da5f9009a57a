"""The suite's outputs: a JSON file written atomically, and Markdown tables for the terminal."""
import json
import os
from pathlib import Path

from .machine import blas_line


def write_json(path: Path, data: dict) -> None:
    """Write, fsync, rename: an interrupted run never leaves a half-written results file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _ms(v: float) -> str:
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def _timing(side: dict) -> str:
    """'1.23 / 1.30 / 1.51' (min / median / max, ms) or the side's error."""
    if side is None:
        return "-"
    if "error" in side:
        return _cell(f"error: {side['error']}")
    return " / ".join(_ms(side[k]) for k in ("min_ms", "median_ms", "max_ms"))


def _rate(record: dict, name: str) -> str:
    rate = record.get("rate", {}).get(name)
    if not rate:
        return "-"
    if "gflops" in rate:
        return f"{rate['gflops']:.1f} GFLOP/s ({100 * rate['peak_fraction']:.0f}% peak)"
    return f"{rate['images_per_s']:,.0f} img/s"


def _target(target) -> str:
    if not target:
        return "-"
    parts = []
    if "ratio_at_most" in target:
        parts.append(f"<= {target['ratio_at_most']}")
    if "peak_fraction_at_least" in target:
        parts.append(f">= {100 * target['peak_fraction_at_least']:.0f}% peak")
    if "speedup_at_least" in target:
        parts.append(f">= {target['speedup_at_least']:.0f}x")
    return ", ".join(parts)


def _load(record) -> str:
    load = record.get("other_load_cores")
    return "-" if load is None else f"{load:.1f}"


def _label(record) -> str:
    return record["label"] + (" (reduced repeats)" if record.get("reduced_repeats") else "")


def _met(met) -> str:
    return "-" if met is None else "yes" if met else "**no**"


def _ratio(ratio, spread=True) -> str:
    if ratio is None:
        return "-"
    if not spread or ratio["min"] == ratio["max"]:
        return f"{ratio['median']:.2f}"
    return f"**{ratio['median']:.2f}** ({ratio['min']:.2f}-{ratio['max']:.2f})"


def _busy_warning(results: dict) -> str:
    loads = [r["other_load_cores"] for r in results["records"] if r.get("other_load_cores") is not None]
    if not loads or max(loads) < 0.3:
        return ""
    return (f"**Noisy run**: other processes kept {sum(loads) / len(loads):.1f} CPUs busy on average "
            f"(up to {max(loads):.1f}); absolute times are inflated and 2-thread rows, where both "
            f"libraries need both cores, are unreliable. Re-run on a quiet machine.")


def header(results: dict) -> str:
    m = results["machine"]
    flags = "+".join(f.upper() for f in m["cpu_flags"]) or "no AVX2"
    ids = m.get("cpu_ids", {})
    family = f" (family {ids['cpu family']} model {ids['model']})" if ids.get("cpu family") else ""
    repeats = next(iter(results["matmul_peak"].values()), {}).get("repeats", "")
    peaks = ", ".join(f"{t} thread{'s' if t != '1' else ''}: {p['best_gflops']:.0f} GFLOP/s"
                      for t, p in results["matmul_peak"].items())
    load = f"load average {m['load_average_at_start']} at start, {results.get('load_average_at_end')} at end"
    lines = [
        f"Machine: {m['cpu_model']}{family}, {m['logical_cores']} logical cores ({m['usable_cores']} usable), "
        f"{flags}; Python {m['python']}; NumPy {m['numpy']} with {blas_line(m)}; "
        f"PyTorch {m['torch']} (CPU kernels: {m.get('torch_cpu_capability')})."
        + (f" Environment: {', '.join(f'{k}={v}' for k, v in m['thread_env'].items())}."
           if m.get("thread_env") else ""),
        f"float32 matmul peak (NumPy 1024x1024, best of {repeats}): {peaks}. '% peak' is relative "
        f"to it, so a library with wider SIMD kernels than NumPy's BLAS can exceed 100%.",
        f"All times float32, per call, after warm-up; sides alternate A B A B; ratio = median of "
        f"per-round ratios (min-max in brackets); {load}; "
        f"'other load' = CPUs other processes kept busy during the row (0 on a quiet machine).",
    ]
    warning = _busy_warning(results)
    return "\n".join(lines + ([warning] if warning else []))


def compare_table(records) -> str:
    rows = ["| workload | threads | initlab ms (min / med / max) | PyTorch ms (min / med / max) "
            "| initlab / PyTorch | initlab | PyTorch | target | met | other load |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        rows.append(f"| {_label(r)} | {r['threads']} | {_timing(r['sides'].get('initlab'))} "
                    f"| {_timing(r['sides'].get('torch'))} | {_ratio(r['ratio'])} "
                    f"| {_rate(r, 'initlab')} | {_rate(r, 'torch')} | {_target(r['target'])} "
                    f"| {_met(r['met'])} | {_load(r)} |")
    return "\n".join(rows)


def peer_table(records) -> str:
    rows = ["| workload (forward + backward) | threads | initlab ms (min / med / max) "
            "| textbook peer ms (min / med / max) | initlab speed-up (peer / initlab) | target | met "
            "| other load |",
            "|---|---|---|---|---|---|---|---|"]
    for r in records:
        rows.append(f"| {_label(r)} | {r['threads']} | {_timing(r['sides'].get('initlab'))} "
                    f"| {_timing(r['sides'].get('peer'))} | {_ratio(r['speedup'])} "
                    f"| {_target(r['target'])} | {_met(r['met'])} | {_load(r)} |")
    return "\n".join(rows)


def _memory_cell(side: dict) -> str:
    if "error" in side:
        return _cell(f"error: {side['error']}")
    return f"{side['peak_rss_mib']:.0f} ({side['setup_rss_mib']:.0f})"


def memory_table(records) -> str:
    rows = ["| workload | threads | initlab peak RSS MiB (before 1st step) "
            "| PyTorch peak RSS MiB (before 1st step) | initlab / PyTorch | target | met | other load |",
            "|---|---|---|---|---|---|---|---|"]
    for r in records:
        rows.append(f"| {_label(r)} | {r['threads']} | {_memory_cell(r['sides']['initlab'])} "
                    f"| {_memory_cell(r['sides']['torch'])} | {_ratio(r['ratio'], spread=False)} "
                    f"| {_target(r['target'])} | {_met(r['met'])} | {_load(r)} |")
    return "\n".join(rows)


def checks(records) -> str:
    """One line if every correctness check agreed, else the ones that did not."""
    notes = [(r, r["check"]) for r in records if r.get("check")]
    passed = ("agree", "same weights: logits agree")
    bad = [f"- {r['label']} ({r['threads']} thr): {_cell(c)}" for r, c in notes if not c.startswith(passed)]
    if not notes:
        return ""
    if not bad:
        return ("Correctness checks: every side agreed with the other before timing "
                "(outputs and gradients to 1e-3 relative; same weights give the same logits).")
    return "Correctness checks that did not pass:\n" + "\n".join(bad)


def markdown(results: dict) -> str:
    records = results["records"]
    groups = [
        (compare_table, [r for r in records if r["workload"] in ("conv", "lenet", "deep")]),
        (peer_table, [r for r in records if r["workload"] == "peer"]),
        (memory_table, [r for r in records if r["workload"] == "memory"]),
    ]
    parts = [header(results)]
    parts += [render(rs) for render, rs in groups if rs]
    parts.append(checks(records))
    return "\n\n".join(p for p in parts if p) + "\n"
