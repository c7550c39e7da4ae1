"""``--cluster ADDRESS``: the shares of a search (:mod:`.parallel`) run on a Dask cluster.

Why Dask.distributed and not Ray: a share is a plain Python function over picklable data (the
:class:`~.runner.Problem`, a :class:`~.parallel.Share`, the limits), so what matters is the cost
of starting, connecting and handing out a few dozen tasks.  Measured on a two-core machine
(``benchmarks/bench_cluster.py``): importing ``distributed`` and connecting to a running
scheduler takes well under a second, and it is a pure-Python wheel; ``ray`` is a 70 MB binary
wheel whose ``ray.init`` alone starts a raylet, a GCS server and a dashboard, several seconds
before the first task -- more than a whole search of the shipped scenarios.  Dask is also what
an HPC site already runs (``dask-jobqueue`` on SLURM/PBS), where a search too big for one
machine would go.  It is an optional extra (``pip install 'daxsh[cluster]'``); ``--jobs N``
needs nothing.

A worker builds the :class:`~.runner.Machine` (runs the setup) once per problem and process,
then searches each share it is given exactly as a ``--jobs`` worker does
(:func:`.parallel.run_share`).  Traces are counted by fingerprint in the parent, so the
verdict and counts are those of one process.  The cluster has no shared memory, so the limits
are kept by the parent: the budget (executions of all shares together), the time limit
(each worker gets the seconds that are left, not a clock reading of this machine) and
stopping once decided cancel the shares not yet finished.  Ctrl-C cancels them and reports
``undecided (interrupted)``.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .runner import Problem
from .search import Result

__all__ = ["ClusterError", "run_on_cluster", "worker_threads"]


class ClusterError(RuntimeError):
    """The cluster cannot be used (the extra is not installed, no scheduler at the address):
    the search could not run, exit status 3."""


def _share_on_worker(task: tuple[Any, ...], seconds_left: float | None) -> Result:
    """Run on a Dask worker: one share, with the time limit made local to this machine."""
    from . import parallel
    mode, share, seed, limits, problem = task
    if seconds_left is not None:
        limits = replace(limits, deadline=time.monotonic() + seconds_left)
    parallel.use_problem(problem)
    return parallel.run_share((mode, share, seed, limits, problem))


def connect(address: str) -> Any:
    """A client of the scheduler at ``address``; :class:`ClusterError` says what is wrong."""
    try:
        from distributed import Client
    except ImportError as e:
        raise ClusterError("--cluster needs Dask.distributed: pip install 'daxsh[cluster]'") from e
    try:
        return Client(address, timeout=10)
    except (OSError, TimeoutError) as e:
        raise ClusterError(f"no Dask scheduler answers at {address} ({e}); start one with "
                           "`dask scheduler` and workers with `dask worker ADDRESS`") from e


def worker_threads(address: str) -> int:
    """How many tasks the cluster runs at once (its workers' threads): the search is cut into
    as many shares per worker as ``--jobs`` cuts per process."""
    client = connect(address)
    try:
        return max(1, sum(client.nthreads().values()))
    finally:
        client.close()


def run_on_cluster(address: str, problem: Problem, tasks: list[tuple[Any, ...]],
                   progress: Callable[[Result], None] | None, res: Result
                   ) -> tuple[list[Result], bool]:
    """Search ``tasks`` (shares, as :func:`.parallel.explore_parallel` builds them) on the
    cluster at ``address``; returns their results and whether every share ended exhaustive."""
    from distributed import as_completed
    client = connect(address)
    limits = tasks[0][3] if tasks else None
    deadline = limits.deadline if limits is not None else None
    budget = limits.budget if limits is not None else None
    results: list[Result] = []
    futures: list[Any] = []  # (Ctrl-C may come before they are all handed out)
    complete = True
    try:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        futures += [client.submit(_share_on_worker, (m, sh, seed, replace(lim, deadline=None),
                                                     problem), left, pure=False)
                    for (m, sh, seed, lim, _p) in tasks]
        pending = as_completed(futures)
        seen = Result(res.mode, res.kernel)
        for f in pending:
            r = f.result()
            results.append(r)
            complete = complete and r.exhaustive
            seen.merge(r)
            if progress is not None:
                progress(seen)
            over = budget is not None and seen.executions >= budget
            late = deadline is not None and time.monotonic() > deadline
            decided = limits is not None and limits.stop_when_decided and seen.positive \
                and seen.negative
            if over or late or decided:
                res.budget_hit |= over
                res.time_hit |= late
                res.stopped_decided |= bool(decided)
                complete = False
                client.cancel(futures)
                break
    except KeyboardInterrupt:
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            res.interrupted = True
            client.cancel(futures)
        finally:
            signal.signal(signal.SIGINT, old)
        complete = False
    finally:
        client.close()
    return results, complete
