"""Indicator ingest against its physical limit, on a real file: the IoD 2025 LSOA file (33,755 rows x
24 columns = 810,120 observations). Prints the time of a raw COPY of the same rows, in long form, into
an unindexed temporary table, then runs the real loader (`load_indicators --only iod2025-lsoa21
--force`, which also replaces the previous copy of that release) and prints both and the ratio.

Run from the project root against a loaded database:  .venv/bin/python bench/ingest_iod2025.py
"""

import csv
import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("LEVELUP_DATA_DIR", ROOT.parent / "shared" / "data"))
DSN = os.environ.get("BENCH_DSN", "host=127.0.0.1 user=postgres dbname=levelup")


def raw_copy_seconds() -> tuple[int, float]:
    path = DATA / "indicators/deprivation/IoD2025_England_LSOA21_scores_ranks_deciles_humaniverse.csv"
    rows = list(csv.reader(open(path, encoding="utf-8")))
    header, data = rows[0], rows[1:]
    buf = io.StringIO()
    writer = csv.writer(buf)
    for r in data:
        for i, col in enumerate(header[1:], start=1):
            writer.writerow([r[0], col, "2025-10-30", r[i]])
    text = buf.getvalue()
    with psycopg.connect(DSN) as conn:
        conn.execute("CREATE TEMP TABLE raw_obs (code text, indicator text, period text, value float8)")
        t0 = time.perf_counter()
        with conn.cursor().copy("COPY raw_obs FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(text)
        return text.count("\n"), time.perf_counter() - t0


def loader_seconds() -> float:
    out = subprocess.run([sys.executable, "manage.py", "load_indicators", "--only", "iod2025-lsoa21", "--force"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return float(re.search(r"rows\s+([0-9.]+)s", out).group(1))


if __name__ == "__main__":
    n, raw = raw_copy_seconds()
    full = loader_seconds()
    print("| step | rows | seconds | ratio |\n|---|--:|--:|--:|")
    print(f"| raw COPY, unindexed temp table | {n:,} | {raw:.2f} | 1.0x |")
    print(f"| load_indicators (stage, validate, resolve, replace release, insert with ranks) | {n:,} | {full:.2f} | {full / raw:.1f}x |")
