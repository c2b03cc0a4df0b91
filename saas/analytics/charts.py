"""Charts drawn on the server as SVG: readable without JavaScript, each with a <title> and a
<desc> (role="img"), every mark with its own <title> (a tooltip and a spoken label), and the same
numbers in a table beside it on the page. Colours are attributes (the CSP forbids inline styles).
"""

from __future__ import annotations

from collections.abc import Sequence as Seq
from datetime import date

from markupsafe import Markup, escape

from saas.analytics.queries import metric_rate
from saas.i18n import _, _l, ngettext
from saas.web.numbers import format_number, format_percent

BRAND = "#3b5bdb"
SOFT = "#c5d0f5"
ACCENT = "#e8590c"
INK = "#1f2430"
MUTED = "#6b7280"
LINE = "#d8dde6"
METRIC_TITLES = {"open": _l("A/B open rates with intervals"),
                 "click": _l("A/B click rates with intervals"),
                 "goal": _l("A/B goal rates with intervals")}


def _svg(chart_id: str, width: int, height: int, title: str, desc: str, body: list[str]) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
            f'viewBox="0 0 {width} {height}" width="100%" role="img" '
            f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
            f'font-family="system-ui, sans-serif" font-size="12">'
            f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
            f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>')
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 - every text is escape()d


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pct(value: float | None) -> str:
    return "—" if value is None else format_percent(value)


def _n(value: int) -> str:
    return format_number(value)


def funnel(rows: Seq[tuple[str, int, int, int]], chart_id: str = "funnel") -> Markup:
    """Horizontal bars per step: (label, depth, reached, completed)."""
    width, left, right, row_h, top = 680, 230, 80, 26, 8
    height = top * 2 + row_h * max(1, len(rows))
    peak = max([r[2] for r in rows] + [1])
    scale = (width - left - right) / peak
    body = [f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - top}" stroke="{LINE}"/>']
    for i, (label, depth, reached, completed) in enumerate(rows):
        y = top + i * row_h
        name = _short(label, 30 - 2 * depth)
        tip = _("%(step)s: reached by %(reached)s, completed by %(completed)s", step=label,
                reached=_n(reached), completed=_n(completed))
        body.append(f'<g><title>{escape(tip)}</title>'
                    f'<text x="{8 + depth * 12}" y="{y + 17}" fill="{INK}">{escape(name)}</text>'
                    f'<rect x="{left}" y="{y + 4}" width="{reached * scale:.1f}" height="18" '
                    f'fill="{SOFT}"/>'
                    f'<rect x="{left}" y="{y + 4}" width="{completed * scale:.1f}" height="18" '
                    f'fill="{BRAND}"/>'
                    f'<text x="{left + reached * scale + 6:.1f}" y="{y + 17}" fill="{MUTED}">'
                    f'{escape(_n(reached))}</text></g>')
    first = rows[0][2] if rows else 0
    last = rows[-1][2] if rows else 0
    desc = " ".join((
        ngettext("%(count)s step.", "%(count)s steps.", len(rows), count=_n(len(rows))),
        _("The first is reached by %(first)s records, the last by %(last)s.", first=_n(first),
          last=_n(last)),
        _("Light bars: reached; dark bars: completed.")))
    return _svg(chart_id, width, height, _("Funnel of the steps"), desc, body)


def timeline(days: Seq[tuple[date, int, int]], chart_id: str = "timeline") -> Markup:
    """Daily bars of messages sent, with replies as a line of dots."""
    width, height, left, bottom, top = 680, 210, 44, 28, 12
    plot_w, plot_h = width - left - 12, height - top - bottom
    peak = max([d[1] for d in days] + [d[2] for d in days] + [1])
    step = plot_w / max(1, len(days))
    bar = max(1.0, step * 0.7)
    body = [f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 12}" y2="{top + plot_h}" '
            f'stroke="{LINE}"/>',
            f'<text x="{left - 6}" y="{top + 10}" text-anchor="end" fill="{MUTED}">'
            f'{escape(_n(peak))}</text>',
            f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" fill="{MUTED}">0</text>']
    points = []
    for i, (day, sent, replies) in enumerate(days):
        x = left + i * step
        h = sent / peak * plot_h
        cy = top + plot_h - replies / peak * plot_h
        points.append(f"{x + bar / 2:.1f},{cy:.1f}")
        tip = _("%(day)s: %(sent)s sent, %(replies)s replies", day=day.isoformat(),
                sent=_n(sent), replies=_n(replies))
        body.append(f'<g><title>{escape(tip)}</title>'
                    f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                    f'height="{h:.1f}" fill="{BRAND}"/>'
                    f'<circle cx="{x + bar / 2:.1f}" cy="{cy:.1f}" r="2.5" fill="{ACCENT}"/></g>')
    if len(points) > 1:
        body.insert(3, f'<polyline points="{" ".join(points)}" fill="none" stroke="{ACCENT}" '
                       f'stroke-width="1.5"/>')
    for i in sorted({0, len(days) // 2, len(days) - 1}) if days else []:
        anchor = "start" if i == 0 else ("end" if i == len(days) - 1 else "middle")
        body.append(f'<text x="{left + i * step + bar / 2:.1f}" y="{height - 8}" '
                    f'text-anchor="{anchor}" fill="{MUTED}">{days[i][0].isoformat()}</text>')
    total_sent = sum(d[1] for d in days)
    total_replies = sum(d[2] for d in days)
    desc = _("%(days)s days from %(first)s: %(sent)s messages sent (bars) and %(replies)s "
             "replies (orange line).", days=_n(len(days)),
             first=days[0][0].isoformat() if days else "", sent=_n(total_sent),
             replies=_n(total_replies))
    return _svg(chart_id, width, height, _("Messages sent and replies per day"), desc, body)


def ab_rates(versions: Seq[tuple[str, float | None, float, float, bool]],
             metric: str, chart_id: str = "ab") -> Markup:
    """Per version: (name, rate, ci low, ci high, winner): a dot with its 95% interval."""
    width, left, right, row_h, top = 680, 120, 40, 36, 24
    height = top + row_h * max(1, len(versions)) + 8
    peak = max([v[3] for v in versions] + [0.01]) * 1.1
    scale = (width - left - right) / peak
    body = [f'<line x1="{left}" y1="{top - 6}" x2="{left}" y2="{height - 4}" stroke="{LINE}"/>',
            f'<text x="{left}" y="{top - 10}" fill="{MUTED}">{escape(format_percent(0, 0))}'
            '</text>',
            f'<text x="{width - right}" y="{top - 10}" text-anchor="end" fill="{MUTED}">'
            f'{escape(_pct(peak))}</text>']
    parts = []
    for i, (name, rate, low, high, winner) in enumerate(versions):
        y = top + i * row_h + row_h / 2
        label = (_("Version %(name)s (winner)", name=name) if winner
                 else _("Version %(name)s", name=name))
        tip = _("%(version)s: %(rate_name)s %(rate)s, 95%% interval %(low)s to %(high)s",
                version=label, rate_name=metric_rate(metric), rate=_pct(rate), low=_pct(low),
                high=_pct(high))
        parts.append(_("version %(name)s %(rate)s (%(low)s–%(high)s)", name=name,
                       rate=_pct(rate), low=_pct(low), high=_pct(high)))
        colour = ACCENT if winner else BRAND
        dot = "" if rate is None else (
            f'<circle cx="{left + rate * scale:.1f}" cy="{y:.1f}" r="6" fill="{colour}"/>')
        body.append(f'<g><title>{escape(tip)}</title>'
                    f'<text x="8" y="{y + 4:.1f}" fill="{INK}">{escape(label)}</text>'
                    f'<line x1="{left + low * scale:.1f}" y1="{y:.1f}" '
                    f'x2="{left + high * scale:.1f}" y2="{y:.1f}" stroke="{colour}" '
                    f'stroke-width="3"/>{dot}</g>')
    desc = _("%(rate_name)s per version with its 95%% interval: %(versions)s",
             rate_name=metric_rate(metric).capitalize(), versions="; ".join(parts))
    return _svg(chart_id, width, height, str(METRIC_TITLES.get(metric) or _(
        "A/B %(metric)s rates with intervals", metric=metric)), desc, body)
