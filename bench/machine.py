"""What the numbers were measured on: CPU, cores, NumPy and its BLAS, PyTorch, load."""
import os
import platform

import numpy as np
from threadpoolctl import threadpool_info


def cpu_model() -> str:
    """The 'model name' line of /proc/cpuinfo (or the platform's guess elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_ids() -> dict:
    """'cpu family' and 'model' numbers (the model name alone can be just 'AMD EPYC')."""
    ids = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key = line.split(":", 1)[0].strip()
                if key in ("cpu family", "model") and key not in ids:
                    ids[key] = line.split(":", 1)[1].strip()
                if len(ids) == 2:
                    break
    except OSError:
        pass
    return ids


def cpu_flags() -> list:
    """The SIMD features that matter for float32 GEMM speed, from /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return [name for name in ("avx2", "fma", "avx512f") if name in flags]
    except OSError:
        pass
    return []


def blas_libraries() -> list:
    """Every thread pool threadpoolctl sees (NumPy's BLAS, PyTorch's OpenMP, ...)."""
    keys = ("user_api", "internal_api", "prefix", "version", "architecture", "num_threads")
    return [{k: lib.get(k) for k in keys} for lib in threadpool_info()]


def thread_env() -> dict:
    """Environment variables that change which BLAS kernels or how many threads run.

    OPENBLAS_CORETYPE matters most: it overrides OpenBLAS's CPU detection (e.g. 'Haswell'
    kernels, AVX2 only, on a CPU that has AVX-512).
    """
    prefixes = ("OPENBLAS_", "OMP_", "MKL_", "GOTO_", "KMP_", "DNNL_", "ONEDNN_")
    return {k: v for k, v in sorted(os.environ.items()) if k.startswith(prefixes)}


def load_average():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def _torch_capability(torch):
    """The SIMD level PyTorch dispatches its CPU kernels to ('AVX2', 'AVX512', ...)."""
    try:
        return torch.backends.cpu.get_cpu_capability()
    except Exception:  # noqa: BLE001 -- informational only
        return None


def describe(torch=None) -> dict:
    """A JSON-able description of the machine and the library versions."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu_model": cpu_model(),
        "cpu_ids": cpu_ids(),
        "cpu_flags": cpu_flags(),
        "logical_cores": os.cpu_count(),
        "usable_cores": affinity,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas_libraries(),
        "torch": torch.__version__ if torch is not None else None,
        "torch_cpu_capability": _torch_capability(torch),
        "thread_env": thread_env(),
        "load_average_at_start": load_average(),
    }


def blas_line(info: dict) -> str:
    """'openblas 0.3.31 (Haswell)' for NumPy's BLAS, from `describe()`'s entry."""
    for lib in info["blas"]:
        if lib["user_api"] == "blas":
            arch = f" ({lib['architecture']})" if lib.get("architecture") else ""
            return f"{lib['internal_api']} {lib['version']}{arch}"
    return "unknown"
