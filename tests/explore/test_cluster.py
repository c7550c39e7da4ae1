"""``--cluster``: the search's shares on a (local, two-worker) Dask cluster give the verdict and
the counts of one process; a cluster that is not there is reported, exit 3."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from daxsh.cli import main

pytest.importorskip("distributed")

SCENARIO = Path(__file__).parents[2] / "scenarios" / "threads" / "three-thread-truncate-xfs.toml"

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    from distributed import LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=50) as c:
        yield c.scheduler_address


def _json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code = main(["explore", str(SCENARIO), "--json", *argv])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("kernel", ["v4.16", "v4.18"])
def test_cluster_gives_the_counts_of_one_process(cluster: str, kernel: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    one = _json(["--kernel", kernel, "--mode", "dpor", "--count-all"], capsys)
    two = _json(["--kernel", kernel, "--mode", "dpor", "--count-all", "--cluster", cluster],
                capsys)
    assert one[0] == two[0] == 0
    for key in ("verdict", "traces", "positive", "negative", "exhaustive", "outcomes"):
        assert one[1][key] == two[1][key], key
    assert two[1]["exhaustive"] and two[1]["traces"] > 10


def test_a_cluster_that_is_not_there(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", str(SCENARIO), "--kernel", "v4.18",
                 "--cluster", "tcp://127.0.0.1:9"]) == 3
    err = capsys.readouterr().err
    assert "no Dask scheduler answers at tcp://127.0.0.1:9" in err and "dask scheduler" in err
