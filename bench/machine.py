"""What every bench result records about the machine: the CPU model and its vector flags.

The CPU differs between runs of the same bench (AVX-512 VNNI one day, AVX2 only the next), so a
figure means something only beside the flags of the machine that produced it.
"""

from __future__ import annotations

import os
import platform
from typing import Any

from transcriber.backends.faster import cpu_flags

VECTOR_PREFIXES = ("avx", "fma", "sse4", "amx")


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), or what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def vector_flags() -> list[str]:
    """The CPU's SIMD feature flags, sorted (avx2, avx512_vnni, amx_int8, fma, sse4_2 ...)."""
    return sorted(f for f in cpu_flags() if f.startswith(VECTOR_PREFIXES))


def describe() -> dict[str, Any]:
    """The CPU model, its vector flags and the cores this process may use."""
    return {"cpu_model": cpu_model(), "cpu_flags": vector_flags(), "cores_available": len(os.sched_getaffinity(0))}
