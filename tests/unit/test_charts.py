"""The SVG charts: one element per figure, values in the tooltips, text escaped, a target line when asked."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from inboxd.web.charts import Series, _nice_max, chart

SVG = "{http://www.w3.org/2000/svg}"


def test_bars_lines_and_target_are_drawn_and_parse_as_svg() -> None:
    svg = chart(["1 Nov", "8 Nov", "15 Nov"], [Series("team", (90.0, None, 97.5)),
                                               Series("a&b <staff>", (80.0, 85.0, 100.0), "line")],
                title="Kept <per> week", unit="%", y_max=100.0, target=95.0)
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("aria-label") == "Kept <per> week"
    bars = [e for e in root.iter(f"{SVG}rect") if e.get("class") == "bar"]
    points = [e for e in root.iter(f"{SVG}circle") if e.get("class") == "point"]
    assert len(bars) == 2 and len(points) == 3  # no bar for the week without a figure
    assert [b.findtext(f"{SVG}title") for b in bars] == ["1 Nov: 90% (team)", "15 Nov: 97.5% (team)"]
    assert points[0].findtext(f"{SVG}title") == "1 Nov: 80% (a&b <staff>)"
    target = next(e for e in root.iter(f"{SVG}line") if e.get("class") == "target")
    assert target.get("y1") == target.get("y2")
    # The taller bar is higher up: SVG's y grows downwards.
    assert float(bars[1].get("y", "0")) < float(bars[0].get("y", "0"))


def test_empty_series_still_draw_axes() -> None:
    root = ET.fromstring(chart([], [Series("none", ())], title="Nothing yet"))
    assert not [e for e in root.iter(f"{SVG}rect") if e.get("class") == "bar"]


def test_the_scale_rounds_up_to_a_readable_maximum() -> None:
    assert [_nice_max(v) for v in (0, 0.5, 3, 7, 12, 180, 2400)] == [1, 1, 4, 8, 20, 200, 4000]
