"""What the CPU computes natively (from ``/proc/cpuinfo``), which decides the engines' defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags; empty where ``/proc/cpuinfo`` cannot be read (then nothing counts as native)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return frozenset()
    return frozenset(text.split())


def bf16_is_native() -> bool:
    """Whether this CPU computes in bfloat16 (AMX or AVX512-BF16); elsewhere bf16 is emulated and slow."""
    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})


def int8_is_native() -> bool:
    """Whether this CPU has the 8-bit dot product (VNNI, or AMX): there ONNX Runtime multiplies full-range
    int8 weights without the 16-bit overflow that makes 7-bit weights necessary on plain AVX2."""
    return bool(cpu_flags() & {"avx512_vnni", "avx_vnni", "amx_int8"})
