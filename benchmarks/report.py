"""The results of dashboard.py as a Markdown table with ratios and target checks, and a chart.

The table is printed and written into benchmarks/README.md between the markers below, so a rerun
replaces it; the chart is benchmarks/chart.png (matplotlib, Agg backend: no display needed).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"  # committed
README = HERE / "README.md"
CHART = HERE / "chart.png"
START = "<!-- bench:results:start (written by benchmarks/run.py; edits here are replaced) -->"
END = "<!-- bench:results:end -->"
ORDER = [("sqlite", 100_000), ("sqlite", 1_000_000), ("postgresql", 100_000), ("postgresql", 1_000_000)]


def label(events: int) -> str:
    return f"{events // 1_000_000}M" if events % 1_000_000 == 0 else f"{events // 1000}k"


def load_results() -> list[dict[str, Any]]:
    found = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("results-*.json"))]
    rank = {key: i for i, key in enumerate(ORDER)}
    return sorted(found, key=lambda r: (rank.get((r["backend"], r["events"]), 99), r["events"]))


def _ms(stats: dict[str, float] | None, key: str = "p50_ms") -> str:
    if not stats:
        return "–"
    value = stats[key]
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "–"
    return f"{a / b:.2f}×"


def _p50(entry: dict[str, Any], system: str) -> float | None:
    stats = entry.get(system)
    return stats["p50_ms"] if stats else None


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def config_table(result: dict[str, Any]) -> list[str]:
    qs = result["questions"]
    lines = [
        f"### {result['backend']}, {label(result['events'])} events",
        "",
        f"Commit `{result.get('commit', '?')}`, {result.get('when', '?')}; {result.get('requests', '?')} "
        "requests per question at concurrency 1 (fewer where the time budget ran out; n below).",
        "",
        "| question | n | service p50 | p99 | Datasette p50 | p99 | floor p50 | service / Datasette "
        "| service / floor | c=8 service req/s | c=8 Datasette req/s | same rows? |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for e in qs.values():
        if e["kind"] == "export":
            continue
        c8 = e.get("c8_rps", {})
        lines.append(
            f"| {e['title']} | {(e.get('service') or {}).get('n', '–')} | {_ms(e.get('service'))} "
            f"| {_ms(e.get('service'), 'p99_ms')} | {_ms(e.get('datasette'))} "
            f"| {_ms(e.get('datasette'), 'p99_ms')} "
            f"| {_ms(e.get('floor'))} | {_ratio(_p50(e, 'service'), _p50(e, 'datasette'))} "
            f"| {_ratio(_p50(e, 'service'), _p50(e, 'floor'))} | {_rate(c8.get('service'))} "
            f"| {_rate(c8.get('datasette'))} | {e['equivalence'].get('verdict', '–')} |"
        )
    lines += [
        "",
        "| export | rows | service rows/s | Datasette rows/s | floor rows/s | service / Datasette "
        "| service RSS growth | Datasette RSS growth |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for e in qs.values():
        if e["kind"] != "export":
            continue
        svc, ds = e.get("service_rows_per_s"), e.get("datasette_rows_per_s")
        growth = e.get("service_rss_growth_mib")
        ds_growth = e.get("datasette_rss_growth_mib")
        lines.append(
            f"| {e['title']} | {e['equivalence'].get('service_rows', '–'):,} | {_rate(svc)} | {_rate(ds)} "
            f"| {_rate(e.get('floor_rows_per_s'))} | {_ratio(svc, ds)} "
            f"| {f'+{growth:.0f} MiB' if growth is not None else '–'} "
            f"| {f'+{ds_growth:.0f} MiB' if ds_growth is not None else '–'} |"
        )
    mem = result.get("memory", {})
    lines += [
        "",
        f"Server memory (resident, all processes): service idle {mem.get('service_idle_mib', 0):.0f} MiB, "
        f"peak under c=8 {mem.get('service_peak_c8_mib', 0):.0f} MiB"
        + (
            f"; Datasette idle {mem['datasette_idle_mib']:.0f} MiB, peak under c=8 "
            f"{mem.get('datasette_peak_c8_mib', 0):.0f} MiB."
            if "datasette_idle_mib" in mem
            else "."
        ),
        "",
    ]
    return lines


def _check(ok: bool | None) -> str:
    return "–" if ok is None else ("met" if ok else "**not met**")


def targets(results: list[dict[str, Any]]) -> list[str]:
    """The issue's targets, each marked met or not met (– when that run is missing)."""
    by = {(r["backend"], r["events"]): r for r in results}
    rows: list[tuple[str, str, str, bool | None]] = []
    sqlite100 = by.get(("sqlite", 100_000))
    if sqlite100:
        for e in sqlite100["questions"].values():
            s, d = _p50(e, "service"), _p50(e, "datasette")
            if e["kind"] in ("list", "single"):
                rows.append(("SQLite 100k", f"{e['title']}: p50 ≤ 0.5 × Datasette", _ratio(s, d),
                             (s <= 0.5 * d) if s and d else None))  # fmt: skip
            elif e["kind"] == "aggregate" and e["title"].split()[0] in ("facets", "monthly"):
                rows.append(("SQLite 100k", f"{e['title']}: p50 ≤ Datasette", _ratio(s, d),
                             (s <= d) if s and d else None))  # fmt: skip
        csv = sqlite100["questions"].get("export_csv", {})
        s, d = csv.get("service_rows_per_s"), csv.get("datasette_rows_per_s")
        rows.append(
            (
                "SQLite 100k",
                "CSV export ≥ 4 × Datasette's rate",
                _ratio(s, d),
                (s >= 4 * d) if s and d else None,
            )
        )
    for r in results:
        where = f"{r['backend']} {label(r['events'])}"
        for e in r["questions"].values():
            if e["kind"] != "list":
                continue
            s, f = _p50(e, "service"), _p50(e, "floor")
            limit = max(1.5 * f, f + 3) if f else None
            rows.append((where, f"{e['title']}: p50 ≤ max(1.5 × floor, floor + 3 ms)",
                         f"{s:.1f} vs {limit:.1f} ms" if s and limit else "–",
                         (s <= limit) if s and limit else None))  # fmt: skip
    pg1m = by.get(("postgresql", 1_000_000))
    pg100 = by.get(("postgresql", 100_000))
    if pg1m:
        for name, e in pg1m["questions"].items():
            stats = e.get("service")
            if not stats:
                continue
            if e["kind"] == "list":
                p99 = stats["p99_ms"]
                rows.append(
                    ("PostgreSQL 1M", f"{e['title']}: p99 < 100 ms at c=1", f"{p99:.0f} ms", p99 < 100)
                )
            elif e["kind"] == "aggregate":
                rows.append(("PostgreSQL 1M", f"{e['title']}: p99 < 500 ms", f"{stats['p99_ms']:.0f} ms",
                             stats["p99_ms"] < 500))  # fmt: skip
            if e.get("index_bound") and pg100 and pg100["questions"].get(name, {}).get("service"):
                small = pg100["questions"][name]["service"]["p50_ms"]
                growth = stats["p50_ms"] / small
                rows.append(("PostgreSQL 100k → 1M", f"{e['title']}: p50 growth ≤ 1.3× (index-bound)",
                             f"{growth:.2f}×", growth <= 1.3))  # fmt: skip
    for r in results:
        floor_rate = 50_000 if r["backend"] == "postgresql" else 30_000
        for e in r["questions"].values():
            if e["kind"] == "export":
                rate = e.get("service_rows_per_s")
                rows.append((f"{r['backend']} {label(r['events'])}", f"{e['title']} ≥ {floor_rate:,} rows/s",
                             _rate(rate), (rate >= floor_rate) if rate else None))  # fmt: skip
                growth = e.get("service_rss_growth_mib")
                if growth is not None:
                    rows.append((f"{r['backend']} {label(r['events'])}", f"{e['title']}: memory ≤ +50 MiB",
                                 f"+{growth:.0f} MiB", growth <= 50))  # fmt: skip
    met = sum(1 for *_, ok in rows if ok)
    judged = sum(1 for *_, ok in rows if ok is not None)
    lines = [
        "### Targets (issue 7)",
        "",
        f"{met} of {judged} checks met. Aggregate targets on PostgreSQL 1M are judged on p99.",
        "",
        "| run | target | measured | |",
        "|---|---|---:|---|",
    ]
    lines += [f"| {where} | {what} | {value} | {_check(ok)} |" for where, what, value, ok in rows]
    return [*lines, ""]


def notes(results: list[dict[str, Any]]) -> list[str]:
    """How each Datasette question is asked (from the first run that has Datasette)."""
    with_ds = next((r for r in results if any(e.get("datasette") for e in r["questions"].values())), None)
    if not with_ds:
        return []
    lines = ["### How Datasette was asked", "", "| question | Datasette request | note |", "|---|---|---|"]
    for e in with_ds["questions"].values():
        urls = "<br>".join(f"`{u[:120]}{'…' if len(u) > 120 else ''}`" for u in e["datasette_urls"]) or "–"
        lines.append(f"| {e['title']} | {urls.replace('|', '%7C')} | {e['datasette_note']} |")
    return [*lines, ""]


def markdown(results: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    for r in results:
        lines += config_table(r)
    lines += targets(results)
    lines += notes(results)
    lines.append("![p50 per question and system](chart.png)")
    return "\n".join(lines) + "\n"


def write_readme(text: str) -> None:
    current = README.read_text() if README.exists() else ""
    block = f"{START}\n{text}{END}"
    if START in current and END in current:
        head, rest = current.split(START, 1)
        tail = rest.split(END, 1)[1]
        README.write_text(head + block + tail)
    else:
        README.write_text(current.rstrip() + "\n\n" + block + "\n")


def chart(results: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = [("service", "#1f77b4"), ("datasette", "#ff7f0e"), ("floor", "#7f7f7f")]
    fig, axes = plt.subplots(len(results), 1, figsize=(12, 3.6 * len(results)), squeeze=False)
    for ax, r in zip(axes[:, 0], results, strict=True):
        qs = [e for e in r["questions"].values() if e["kind"] != "export"]
        width = 0.27
        for k, (system, colour) in enumerate(systems):
            values = [_p50(e, system) or math.nan for e in qs]
            ax.bar([i + (k - 1) * width for i in range(len(qs))], values, width, label=system, color=colour)
        ax.set_yscale("log")
        ax.set_ylabel("p50, ms (log)")
        ax.set_title(f"{r['backend']}, {label(r['events'])} events: p50 at concurrency 1")
        ax.set_xticks(range(len(qs)))
        ax.set_xticklabels([e["title"] for e in qs], rotation=20, ha="right", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(CHART, dpi=110)
    plt.close(fig)


def report() -> str:
    results = load_results()
    if not results:
        raise SystemExit("no results in benchmarks/results/ yet: run benchmarks/run.py dashboard first")
    text = markdown(results)
    print(text)
    write_readme(text)
    try:
        chart(results)
    except ImportError:
        print("matplotlib is missing: pip install -e '.[bench]' for the chart")
    return text


if __name__ == "__main__":
    report()
