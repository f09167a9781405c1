#!/usr/bin/env python3
"""Draw the layout of the template's CloudWatch dashboard as an SVG (docs/dashboard.svg).

Reads the dashboard's JSON from template.yaml (tests/template/cfn_yaml.py's loader) and draws
each widget as a rectangle at its x, y, width and height on the dashboard's 24-column grid, with
its title and, in small text, the metrics it plots: name, the dimension values other than the
provider, and the statistic when it is not the widget's default Sum. A metric plotted for several
providers is one line ("… · 4 providers").

    python3 scripts/dashboard_picture.py           # rewrite docs/dashboard.svg
    python3 scripts/dashboard_picture.py --check   # exit 1 if docs/dashboard.svg is not current

tests/template/test_template_metrics.py renders it again and compares it with the committed file.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "template"))
import cfn_yaml  # noqa: E402

PICTURE = ROOT / "docs" / "dashboard.svg"
COLUMNS = 24  # CloudWatch's dashboard grid
COLUMN_PX = 40
ROW_PX = 30
MARGIN_PX = 12
HEADER_PX = 28
TITLE_FONT_PX = 12
TITLE_CHAR_PX = 7.4  # bold sans-serif, a generous average, so wrapped titles fit
METRIC_FONT_PX = 10
METRIC_CHAR_PX = 5.8
LINE_GAP_PX = 3


def metric_rows(widget: dict[str, Any]) -> list[tuple[str, str, dict[str, str], dict[str, Any]]]:
    """(namespace, metric, dimensions, options) of each metric a widget plots. Rows are written out
    in full in the template (no "." shorthand), so each stands on its own."""
    rows = []
    for row in widget.get("properties", {}).get("metrics", []):
        options = row[-1] if isinstance(row[-1], dict) else {}
        names = row[:-1] if options else row
        namespace, metric, *pairs = names
        rows.append((namespace, metric, dict(zip(pairs[::2], pairs[1::2])), options))
    return rows


def metric_lines(widget: dict[str, Any]) -> list[str]:
    """One line per plotted metric, those that differ only by provider merged."""
    default_stat = widget.get("properties", {}).get("stat", "Sum")
    lines: dict[str, set[str]] = {}
    for namespace, metric, dimensions, options in metric_rows(widget):
        parts = [metric if namespace.startswith("${") else f"{namespace} {metric}"]
        parts += [value.removeprefix("${").removesuffix("}") for name, value in dimensions.items() if name != "provider"]
        stat = options.get("stat", default_stat)
        if stat != "Sum":
            parts.append(stat)
        lines.setdefault(" ".join(parts), set()).add(dimensions.get("provider", ""))
    return [f"{line} · {len(providers)} providers" if len(providers) > 1 else line for line, providers in lines.items()]


def wrapped(text: str, width_px: float, char_px: float) -> list[str]:
    return textwrap.wrap(text, max(8, int(width_px / char_px)), break_on_hyphens=False)


def widget_svg(widget: dict[str, Any]) -> list[str]:
    x = MARGIN_PX + widget["x"] * COLUMN_PX
    y = MARGIN_PX + HEADER_PX + widget["y"] * ROW_PX
    width, height = widget["width"] * COLUMN_PX, widget["height"] * ROW_PX
    inner = width - 2 * 8
    out = [f'<rect x="{x + 2}" y="{y + 2}" width="{width - 4}" height="{height - 4}" rx="4" '
           'fill="#f6f8fa" stroke="#8c959f"/>']
    baseline = y + 6
    for line in wrapped(widget.get("properties", {}).get("title", widget["type"]), inner, TITLE_CHAR_PX):
        baseline += TITLE_FONT_PX + LINE_GAP_PX
        out.append(f'<text x="{x + 8}" y="{baseline}" font-size="{TITLE_FONT_PX}" font-weight="bold">{escape(line)}</text>')
    baseline += 4
    # (indent, text): a metric's continuation lines are indented.
    lines = [(8 if i == 0 else 18, part) for line in metric_lines(widget)
             for i, part in enumerate(wrapped(line, inner - 10, METRIC_CHAR_PX))]
    room = int((y + height - 6 - baseline) // (METRIC_FONT_PX + LINE_GAP_PX))
    if len(lines) > room:
        lines = lines[: max(room - 1, 0)] + [(8, "…")]
    for indent, line in lines:
        baseline += METRIC_FONT_PX + LINE_GAP_PX
        out.append(f'<text x="{x + indent}" y="{baseline}" font-size="{METRIC_FONT_PX}" fill="#24292f">{escape(line)}</text>')
    return out


def render(name: str, body: dict[str, Any]) -> str:
    """The SVG of a dashboard body (its JSON), titled with the dashboard's name."""
    widgets = body["widgets"]
    rows = max(w["y"] + w["height"] for w in widgets)
    width = 2 * MARGIN_PX + COLUMNS * COLUMN_PX
    height = 2 * MARGIN_PX + HEADER_PX + rows * ROW_PX
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif">',
           f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
           f'<text x="{MARGIN_PX}" y="{MARGIN_PX + 16}" font-size="14" font-weight="bold">'
           f'{escape(name)}: the CloudWatch dashboard (template.yaml), {COLUMNS}-column grid</text>']
    for widget in sorted(widgets, key=lambda w: (w["y"], w["x"])):
        out.extend(widget_svg(widget))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def picture(template: dict[str, Any]) -> str:
    """The SVG of the template's one dashboard."""
    (dashboard,) = cfn_yaml.dashboards(template).values()
    body, _ = cfn_yaml.dashboard_body(dashboard)
    name = dashboard["Properties"]["DashboardName"]
    name = name.get("Fn::Sub", name) if isinstance(name, dict) else name
    return render(name.replace("${AWS::StackName}", "<stack>"), body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help=f"exit 1 unless {PICTURE.relative_to(ROOT)} is current")
    args = parser.parse_args(argv)
    svg = picture(cfn_yaml.load())
    if args.check:
        current = PICTURE.is_file() and PICTURE.read_text(encoding="utf-8") == svg
        print(f"{PICTURE.relative_to(ROOT)}: {'current' if current else 'stale, run scripts/dashboard_picture.py'}")
        return 0 if current else 1
    PICTURE.write_text(svg, encoding="utf-8")
    print(f"wrote {PICTURE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
