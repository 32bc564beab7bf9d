"""The machine line every bench result carries: CPU model, vector extensions, cores, load.

Float results and kernel speeds follow the instruction set (AVX2 and AVX-512 machines take
different GEMM paths), so a timing without the CPU model and its vector extensions says little.
"""

from __future__ import annotations

import os
import platform
import subprocess

VECTOR_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile", "amx_bf16")


def describe() -> str:
    """``AMD EPYC (lscpu: avx2 fma avx512f ...), 2 cores, load average 1.3``."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Model name":
                model = value.strip()
            elif key.strip() == "Flags":
                flags = set(value.split())
    except (OSError, subprocess.CalledProcessError):
        pass
    vector = " ".join(f for f in VECTOR_FLAGS if f in flags) or "flags unknown"
    return (
        f"{model} (lscpu vector extensions: {vector}), {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
