"""Plain-text rendering of the quality report: aligned tables, a capped list of failing records and
an ASCII bar chart (plain characters, so it prints the same in any terminal encoding or log)."""

from __future__ import annotations

from itertools import groupby

from shopflow_assets.reports.quality import QualityReport
from shopflow_assets.reports.table import grid

MAX_RECORDS_PER_TABLE = 10
BAR_WIDTH = 40


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def pp(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f} pp"


def _scores(report: QualityReport) -> str:
    o = report.overall
    rows = [
        (t.table, t.rows_checked, t.rows_passing, t.rows_rejected, t.rows_flagged, pct(t.quality_score),
         pp(t.change_pp))
        for t in report.tables
    ]  # fmt: skip
    rows.append(
        ("overall", o.rows_checked, o.rows_passing, sum(t.rows_rejected for t in report.tables),
         sum(t.rows_flagged for t in report.tables), pct(o.quality_score), pp(o.change_pp))
    )  # fmt: skip
    header = ["table", "records", "passing", "rejected", "flagged", "score", f"vs {report.previous_day}"]
    return "Records analysed\n" + grid(header, rows)


def _rules(report: QualityReport) -> str:
    rows = [
        (r.table, r.rule, r.name, r.passed, r.failed, pct(r.score), r.severity, r.action)
        for r in report.rules
    ]
    header = ["table", "rule", "name", "passed", "failed", "score", "severity", "action"]
    return "Rules\n" + grid(header, rows)


def _failing(report: QualityReport) -> str:
    if not report.failing_records:
        return "Failing records: none"
    parts = ["Failing records"]
    for table, group in groupby(report.failing_records, key=lambda f: f.table):
        records = list(group)
        rejected = sum(f.status == "rejected" for f in records)
        flags = len(records) - rejected
        parts.append(f"{table}: {rejected} rejected record(s), {flags} flag(s) on records kept in silver")
        shown = records[:MAX_RECORDS_PER_TABLE]
        parts.append(
            grid(
                ["status", "key", "rule", "severity", "detail"],
                [(f.status, f.key or "(none)", f.rule, f.severity, f.detail) for f in shown],
                indent="  ",
            )
        )
        if len(records) > len(shown):
            parts.append(f"  ... and {len(records) - len(shown)} more")
    return "\n".join(parts)


def _alerts(report: QualityReport) -> str:
    if not report.alerts:
        return "Alerts: none"
    rows = [(a.severity.upper(), a.table, a.rule, a.message) for a in report.alerts]
    header = ["severity", "table", "check", "alert"]
    return f"Alerts ({len(report.alerts)})\n" + grid(header, rows)


def _quarantined(report: QualityReport) -> str:
    """Information, not an alert: critical rules within their threshold (above it, the rule is a
    CRITICAL alert and the blocking critical_rules check failed)."""
    q = report.quarantined_by_critical_rules
    if not q:
        return "Quarantined by critical rules: none"
    detail = ", ".join(f"{x.table}.{x.rule} {x.records}" for x in q)
    return f"Info: {sum(x.records for x in q)} record(s) quarantined by critical rules ({detail})"


def _bar(score: float | None) -> str:
    filled = 0 if score is None else round(score * BAR_WIDTH)
    return "#" * filled + "." * (BAR_WIDTH - filled)


def _history(report: QualityReport) -> str:
    h = report.history
    slope = "" if h.slope_pp_per_day is None else f", {h.slope_pp_per_day:+.2f} pp/day"
    title = f"Overall score, last {len(h.days)} day(s) with data (trend: {h.trend}{slope})"
    lines = [f"{p.day}  |{_bar(p.quality_score)}|  {pct(p.quality_score):>7}" for p in h.days]
    return "\n".join([title, *lines])


def render_text(report: QualityReport) -> str:
    o = report.overall
    head = (
        f"Quality report for {report.day} ({report.database})\n"
        f"Overall quality score: {pct(o.quality_score)} of {o.rows_checked} records "
        f"({pp(o.change_pp)} vs {report.previous_day})"
    )
    sections = [
        head,
        _scores(report),
        _rules(report),
        _failing(report),
        _alerts(report),
        _quarantined(report),
        _history(report),
    ]
    return "\n\n".join(sections)
