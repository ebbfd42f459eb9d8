"""How many processes a step may use: one rule for the disclosure engine and the documents."""
from __future__ import annotations

import os


def processes(env_var: str) -> int:
    """Processes for a step, this one included: the whole number in env `env_var`, default the
    cores this process may use; 1 = no worker processes."""
    from pipelines.config import env_whole_number
    n = env_whole_number(env_var, "processes (1 = no worker processes)")
    if n is not None:
        return max(1, n)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # not Linux
        return os.cpu_count() or 1
