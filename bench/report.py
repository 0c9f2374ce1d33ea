"""Write bench/BENCHMARKS.md from one run's results: each figure beside its baseline and target."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def write_markdown(summary: dict[str, Any], path: Path) -> None:
    r = dict(summary["results"])
    failed = {name: result["failed"] for name, result in r.items() if "failed" in result}
    filing = {size: f for size, f in r.get("filing", {}).items() if "failed" not in f}
    failed |= {f"filing {size}": f["failed"] for size, f in r.get("filing", {}).items() if "failed" in f}
    r = {name: result for name, result in r.items() if "failed" not in result} | {"filing": filing}
    m = summary["machine"]
    lines = [
        "# Benchmarks",
        "",
        "Every figure below comes from one run of `make bench"
        + (" QUICK=1" if summary["mode"] == "QUICK=1" else "")
        + "`, each beside a baseline measured in the same run.",
        "Benchmarks are never part of `make test`, and no test has a timing threshold.",
        "",
        f"- Date: {summary['date']} ({summary['mode']} run, {summary['total_seconds']} s in all), "
        f"commit {summary.get('commit', 'unknown')}",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory']}; {m['os']}",
        f"- Python {m['python']}, PostgreSQL {m['postgresql']} (the local server, shared by the load tools)",
        "- Reproduce: `make bench` (or `make bench QUICK=1`); raw figures in `bench/results/latest.json`.",
        "",
        "| # | What | Figure | Baseline (same run) | Ratio | Target | |",
        "|---|---|---|---|---|---|---|",
    ]
    if "population" in r:
        g = r["population"]
        lines.append(
            f"| 0 | Load the group's people: {g['employees']:,} employees and {g['customers']:,} customers, "
            f"shared out over the lines of each, by COPY; every benchmark below runs among them | "
            f"{g['seconds']} s ({g['accounts_per_second']:,} accounts/s); "
            f"{g['personal_accounts_in_database']:,} personal accounts in the database | "
            f"the same rows through Django's `bulk_create` (20,000, batches of 1,000): "
            f"{g['orm_bulk_create_per_second']:,} accounts/s | "
            f"{g['accounts_per_second'] / g['orm_bulk_create_per_second']:.1f} x | in minutes (< 10 min) | "
            f"{_verdict(g['seconds'] < 600)} |"
        )
    if "record_single" in r and "hordak_peer" in r:
        ours, peer = r["record_single"]["records_per_second"], r["hordak_peer"]["transfers_per_second"]
        ceiling = r["record_single"].get("commit_ceiling_per_second")
        limit = (
            f"; the limit of durable transactions on this server, 2 clients each committing one-row inserts: "
            f"{ceiling:,.0f}/s (2 x the peer is {2 * peer / ceiling:.0%} of it; we are at {ours / ceiling:.0%})"
            if ceiling
            else ""
        )
        lines.append(
            f"| 1 | Record one behaviour through the service (validate, quantify, the record with its posting and balance; "
            f"one transaction each), 2 clients | "
            f"{ours:,.0f} records/s | django-hordak `transfer_to`: {peer:,.0f} transfers/s{limit} | {ours / peer:.2f} x | "
            f">= 2 x | {_verdict(ours >= 2 * peer)} |"
        )
    if "http_records" in r:
        h = r["http_records"]
        healthz = h["floor_requests_per_second"]
        share = h["requests_per_second"] / healthz
        ok = share >= 0.15 and h["p99_ms"] < 50
        lines.append(
            f"| 2 | The same over HTTP (gunicorn, 2 workers; wrk, 8 connections, {h['seconds']} s) | "
            f"{h['requests_per_second']:,.0f} requests/s, p50 {h['p50_ms']} ms, p99 {h['p99_ms']} ms ({h['non_2xx']} non-2xx) | "
            f"the same server and wrk on `/healthz` (no work): {healthz:,.0f} requests/s, "
            f"p50 {h['floor_p50_ms']} ms, p99 {h['floor_p99_ms']} ms; benchmark 1 in-process: "
            f"{r.get('record_single', {}).get('records_per_second', 0):,.0f}/s | {share:.0%} | "
            f">= 15% of `/healthz`, p99 < 50 ms | {_verdict(ok)} |"
        )
    if "bulk" in r:
        b = r["bulk"]
        share = b["records_per_second"] / b["copy_records_per_second"]
        lines.append(
            f"| 3 | Bulk ingestion through HTTP, {b['records']:,} records in 10,000-record requests, end to end | "
            f"{b['records_per_second']:,.0f} records/s "
            f"| psycopg COPY of the same rows into a bare (unlogged) table with one unique index: {b['copy_records_per_second']:,.0f} records/s"
            + (
                f"; the database's part alone (the rows of one request written again by SQL, set-based, with every "
                f"index, constraint, commit-time check and balance update): {b['database_floor_records_per_second']:,.0f} records/s "
                f"(we are at {b['records_per_second'] / b['database_floor_records_per_second']:.0%} of it)"
                if "database_floor_records_per_second" in b
                else ""
            )
            + f" | {share:.1%} | >= 12% of COPY | {_verdict(share >= 0.12)} |"
        )
    for size, f in sorted(r.get("filing", {}).items(), key=lambda item: int(item[0])):
        lines.append(
            f"| 4 | Filing {int(size):,} fileable reductions of one line to certified through the simulator ({f['batches']} batches) | "
            f"{f['items_per_second']:,.0f} items/s, peak {f['peak_rss_mb']} MB | | | memory flat, < 500 MB | {_verdict(f['peak_rss_mb'] < 500)} |"
        )
    if "export" in r:
        e = r["export"]
        same = e["same_figures_as_record_scan"]
        ok = e["seconds"] < 10 and e["peak_rss_mb"] < 300 and same
        lines.append(
            f"| 5 | Export a quarter of group reductions, {e['employees']:,} employees and {e['records']:,} records "
            "(XLSX, from the general ledger's postings) | "
            f"{e['seconds']} s, peak {e['peak_rss_mb']} MB | the same figures summed from every record: "
            f"{e['record_scan_seconds']} s ({'same figures' if same else '**different figures**'}) | "
            f"{e['record_scan_seconds'] / e['seconds']:.0f} x faster | < 10 s and < 300 MB | {_verdict(ok)} |"
        )
    if "statement" in r:
        s = r["statement"]
        ok = s["account_page_p95_ms"] < 100 and s["statement_api_p95_ms"] < 100
        lines.append(
            f"| 6 | A person's account page and statement API, {s['records_in_database']:,} records in the database "
            f"({s['records_of_the_person']} of the person's) | "
            f"page p95 {s['account_page_p95_ms']} ms, API p95 {s['statement_api_p95_ms']} ms | | | p95 < 100 ms | {_verdict(ok)} |"
        )
    if "check_ledger" in r:
        c = r["check_ledger"]
        lines.append(
            f"| 7 | `check_ledger`: every invariant over everything the run wrote, {c['records']:,} records "
            f"and {c['postings']:,} postings | {c['seconds']} s, peak {c['peak_rss_mb']} MB, "
            f"{c['problems']} problems | one pass over every record (sums per person): {c['record_scan_seconds']} s | "
            f"{c['seconds'] / c['record_scan_seconds']:.1f} x the pass | clean; time and memory reported | "
            f"{_verdict(c['problems'] == 0)} |"
        )
    for name, message in failed.items():
        lines.append(f"| | {name} | **failed**: {message} | | | | |")
    notes = path.with_name("NOTES.md")
    if notes.exists():
        lines += ["", notes.read_text().strip()]
    path.write_text("\n".join(lines) + "\n")
