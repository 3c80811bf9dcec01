"""Write a synthetic UCDP GED CSV of N rows, shaped like the real sample.

Rows are the sample's rows recycled with new ids, shifted dates and jittered coordinates, so
the importer meets the same columns, quoting and messiness at any size.

    python benchmarks/generate_ged.py 100000 benchmarks/out/ged-100k.csv
"""

from __future__ import annotations

import csv
import random
import sys
from datetime import date, timedelta
from pathlib import Path

# the 1,000 real events shipped with the tests (CC BY 4.0, see tests/data/README.md)
SAMPLE = Path(__file__).resolve().parents[1] / "tests" / "data" / "ucdp_ged_sample.csv"


def _shift(text: str, days: int) -> str:
    try:
        day = date.fromisoformat(text[:10])
    except ValueError:
        return text
    return (day + timedelta(days=days)).isoformat() + text[10:]


def generate(rows: int, out: Path, sample: Path = SAMPLE, seed: int = 7) -> None:
    rng = random.Random(seed)
    with sample.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = list(reader.fieldnames or [])
        template = list(reader)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for n in range(rows):
            row = dict(template[n % len(template)])
            row["id"] = str(10_000_000 + n)
            days = rng.randint(-2000, 2000)
            row["date_start"] = _shift(row["date_start"], days)
            row["date_end"] = _shift(row["date_end"], days)
            for name, limit in (("latitude", 90.0), ("longitude", 180.0)):
                try:
                    value = float(row[name]) + rng.uniform(-0.05, 0.05)
                    row[name] = f"{max(-limit, min(limit, value)):.6f}"
                except ValueError:
                    pass
            writer.writerow(row)


if __name__ == "__main__":
    generate(int(sys.argv[1]), Path(sys.argv[2]))
