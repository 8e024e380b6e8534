"""The memory a run or a data set may use: one device's, and the share of it.

A leaf module (the engine and the objectives both check their needs here).
"""

from __future__ import annotations

import os

import jax

LIMIT_SHARE = 0.9  # a run stops before compiling beyond this share of the limit


def device_limit() -> tuple[int, str]:
    """The memory of one local device in bytes, and what it is.

    An accelerator reports its allocator's limit; on the CPU the devices
    share the host's available memory (``MemAvailable`` of ``/proc/meminfo``,
    else the physical memory).
    """
    device = jax.local_devices()[0]
    stats = device.memory_stats() if device.platform != "cpu" else None
    if stats and stats.get("bytes_limit"):
        return int(stats["bytes_limit"]), f"{device.device_kind} memory"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    share = int(line.split()[1]) * 1024 // jax.local_device_count()
                    return share, "available host memory per device"
    except OSError:
        pass
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return total // jax.local_device_count(), "host memory per device"
