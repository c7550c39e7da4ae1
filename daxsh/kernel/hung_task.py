"""Models kernel/hung_task.c: the detector that reports a task blocked in D state for
``HUNG_TASK_TIMEOUT_NS`` (``check_hung_uninterruptible_tasks``), one of the run's outcomes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .sched import HUNG_TASK_TIMEOUT_NS, TASK_UNINTERRUPTIBLE

if TYPE_CHECKING:
    from .machine import Kernel

NS = 1_000_000_000


def next_hung_check(k: Kernel) -> int | None:
    due = [t.blocked_since + HUNG_TASK_TIMEOUT_NS for t in k.sched.blocked()
           if t.state == TASK_UNINTERRUPTIBLE and not t.hung_reported]
    return min(due) if due else None


def check_hung(k: Kernel) -> None:
    for t in k.sched.blocked():
        if t.state == TASK_UNINTERRUPTIBLE and not t.hung_reported and \
                k.clock.now - t.blocked_since >= HUNG_TASK_TIMEOUT_NS:
            t.hung_reported = True
            secs = HUNG_TASK_TIMEOUT_NS // NS
            lines = [f"INFO: task {t.comm}:{t.tid} blocked for more than {secs} seconds.",
                     f"      Not tainted {k.config.base[1:]} #1",
                     '"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',
                     f"task:{t.comm:<15} state:D stack:0     pid:{t.tid}  ppid:1      flags:0x00004000"]
            lines += k.call_trace(t)
            k.printk(t, "\n".join(lines))
            k.event("hung-task", f"task {t.comm}:{t.tid} blocked for more than {secs} seconds")



