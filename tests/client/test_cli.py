"""The `levelup` command as a user runs it (the console script installed with the client), against
a real server: Manchester's 295 LSOAs as CSV, a second run answered with 304s (shown by
--verbose), JSON, areas and a profile, and a bad parameter named."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db

LEVELUP = Path(sys.executable).parent / "levelup"


def levelup(*args: str, cache: Path, base: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LEVELUP), *args, "--base-url", base, "--cache-dir", str(cache)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )


def test_manchester_lsoas_as_csv_then_304s(live_api, tmp_path):
    command = [
        "observations",
        "--indicator",
        "iod2025-imd-score",
        "--type",
        "LSOA",
        "--parent",
        "E08000003",
        "--format",
        "csv",
        "--verbose",
    ]
    first = levelup(*command, "--output", str(tmp_path / "first.csv"), cache=tmp_path / "cache", base=live_api)
    assert first.returncode == 0, first.stderr
    with open(tmp_path / "first.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 295
    assert {r["area_code"][:3] for r in rows} == {"E01"} and {r["indicator"] for r in rows} == {"iod2025-imd-score"}
    assert {"value", "lci", "uci", "status"} <= set(rows[0])
    assert "200 OK" in first.stderr and "304" not in first.stderr

    second = levelup(*command, "--output", str(tmp_path / "second.csv"), cache=tmp_path / "cache", base=live_api)
    assert second.returncode == 0, second.stderr
    requests = [line for line in second.stderr.splitlines() if line.startswith("levelup: GET ")]
    assert len(requests) == 1 and "-> 304 Not Modified" in requests[0]
    assert "requests by status: 304 x1" in second.stderr
    assert (tmp_path / "second.csv").read_bytes() == (tmp_path / "first.csv").read_bytes()


def test_json_to_standard_output(live_api, tmp_path):
    done = levelup(
        "observations",
        "--indicator",
        "iod2025-imd-score",
        "--type",
        "LSOA",
        "--parent",
        "E08000003",
        "--period",
        "latest",
        "--format",
        "json",
        cache=tmp_path,
        base=live_api,
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert len(rows) == 295 and rows[0]["indicator"] == "iod2025-imd-score"
    assert done.stderr == ""  # quiet without --verbose


def test_areas_and_a_profile(live_api, tmp_path):
    done = levelup("areas", "--type", "LAD", "--vintage", "LAD23", "--format", "json", cache=tmp_path, base=live_api)
    assert done.returncode == 0, done.stderr
    districts = json.loads(done.stdout)
    assert len(districts) == 361 and districts[0]["active_from"]  # dates written as ISO strings

    output = tmp_path / "blackpool.csv"
    done = levelup("profile", "E06000009", "--format", "csv", "--output", str(output), cache=tmp_path, base=live_api)
    assert done.returncode == 0, done.stderr
    with open(output, newline="") as f:
        rows = {r["indicator"]: r for r in csv.DictReader(f)}
    hle = rows["healthy-life-expectancy-male"]
    assert (hle["area_name"], hle["value"], hle["national_comparison"]) == ("Blackpool", "50.9", "worse")


def test_a_bad_parameter_is_an_error_naming_it(live_api, tmp_path):
    output = tmp_path / "none.csv"
    done = levelup(
        "observations",
        "--indicator",
        "no-such-indicator",
        "--format",
        "csv",
        "--output",
        str(output),
        cache=tmp_path,
        base=live_api,
    )
    assert done.returncode == 1
    assert "parameter 'indicator'" in done.stderr and "unknown indicator" in done.stderr
    assert not output.exists() and not (tmp_path / "none.csv.part").exists()
