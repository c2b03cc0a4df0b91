"""The SVG charts: accessible names, every mark titled, text escaped."""

from __future__ import annotations

import re
from datetime import date, timedelta

from saas.analytics import charts


def test_funnel_is_titled_and_escapes_names():
    svg = str(charts.funnel([("1. <script>alert(1)</script>", 0, 200, 150),
                             ("2. Call", 1, 150, 90)]))
    assert 'role="img"' in svg and 'aria-labelledby="funnel-title funnel-desc"' in svg
    assert "<title id=\"funnel-title\">Funnel of the steps</title>" in svg
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "reached by 200, completed by 150" in svg
    widths = [float(w) for w in re.findall(r'<rect x="230" y="\d+" width="([\d.]+)"', svg)]
    assert widths == [370.0, 277.5, 277.5, 166.5]  # reached, completed per step, to scale


def test_timeline_has_a_mark_per_day_and_totals_in_its_description():
    start = date(2026, 11, 1)
    days = [(start + timedelta(days=i), i * 10, i) for i in range(5)]
    svg = str(charts.timeline(days))
    assert svg.count("<g><title>") == 5
    assert "100 messages sent (bars) and 10 replies" in svg
    assert "2026-11-03: 20 sent, 2 replies" in svg


def test_ab_chart_marks_the_winner_and_its_interval():
    svg = str(charts.ab_rates([("A", 0.05, 0.03, 0.07, False), ("B", 0.12, 0.09, 0.15, True)],
                              "click", chart_id="ab-chart-1"))
    assert "Version B (winner): click rate 12.0%, 95% interval 9.0% to 15.0%" in svg
    assert 'id="ab-chart-1"' in svg and "A/B click rates with intervals" in svg
