"""The 8-week chart of a person's AI-assisted artifacts as a PNG: grouped bars per week (created,
opened by others, used), drawn with Pillow. Pure and deterministic: the series in, the same bytes
out for the same series, nothing else in the image (no name, no email, no date of drawing).

The three series use the Okabe–Ito colours (blue, orange, bluish green), which stay apart under
the common colour-vision deficiencies; every bar also carries its number, and the legend names
each series, so nothing depends on colour alone. The alt text comes from
``bot.domain.ai_history.alt_text``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from bot.domain.ai_history import AiWeek, chart_title

WIDTH, HEIGHT = 960, 420
BACKGROUND = (255, 255, 255)
INK = (33, 33, 33)
MUTED = (110, 110, 110)
GRID = (225, 225, 225)
SERIES = (
    ("Created", (0, 114, 178)),  # Okabe–Ito blue
    ("Opened by others", (230, 159, 0)),  # orange
    ("Used", (0, 158, 115)),  # bluish green
)
LEFT, RIGHT, TOP, BOTTOM = 56, 24, 92, 48  # the plot area's margins
BAR_GAP = 2  # pixels between the bars of one week

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def filename(week: str) -> str:
    """The uploaded file's name: the week only, never whose chart it is."""
    return f"ai-artifacts-{week}.png"


def render_chart(history: Sequence[AiWeek]) -> bytes:
    """The chart of ``history`` (oldest week first) as PNG bytes, ``WIDTH`` × ``HEIGHT``."""
    if not history:
        raise ValueError("a chart needs at least one week")
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    title_font, label_font, small_font = _font(20), _font(14), _font(12)
    draw.text((LEFT, 14), chart_title(history), font=title_font, fill=INK)
    _legend(draw, label_font, y=50)

    top_value = max(max(w.created, w.viewed_by_others, w.used) for w in history)
    step = _tick_step(top_value)
    scale_top = max(step, -(-top_value // step) * step)  # round up to a whole step
    plot_left, plot_right = LEFT, WIDTH - RIGHT
    plot_top, plot_bottom = TOP, HEIGHT - BOTTOM
    height = plot_bottom - plot_top

    def y_of(value: int) -> float:
        return plot_bottom - height * value / scale_top

    for tick in range(0, scale_top + 1, step):
        y = y_of(tick)
        draw.line([(plot_left, y), (plot_right, y)], fill=GRID, width=1)
        text = str(tick)
        width = draw.textlength(text, font=small_font)
        draw.text((plot_left - 8 - width, y - 7), text, font=small_font, fill=MUTED)
    draw.line([(plot_left, plot_bottom), (plot_right, plot_bottom)], fill=MUTED, width=1)

    group = (plot_right - plot_left) / len(history)
    bar = (group * 0.75 - BAR_GAP * (len(SERIES) - 1)) / len(SERIES)
    for index, week in enumerate(history):
        x0 = plot_left + group * index + group * 0.125
        values = (week.created, week.viewed_by_others, week.used)
        for position, (value, (_, colour)) in enumerate(zip(values, SERIES, strict=True)):
            left = x0 + position * (bar + BAR_GAP)
            if value:
                draw.rectangle([left, y_of(value), left + bar, plot_bottom], fill=colour)
            text = str(value)
            width = draw.textlength(text, font=small_font)
            draw.text((left + (bar - width) / 2, y_of(value) - 16), text, font=small_font, fill=INK)
        label = week.week.split("-", 1)[-1]
        width = draw.textlength(label, font=label_font)
        draw.text(
            (plot_left + group * index + (group - width) / 2, plot_bottom + 10),
            label,
            font=label_font,
            fill=INK,
        )

    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _legend(draw: ImageDraw.ImageDraw, font: Font, *, y: int) -> None:
    x = float(LEFT)
    for name, colour in SERIES:
        draw.rectangle([x, y + 2, x + 14, y + 16], fill=colour)
        draw.text((x + 20, y), name, font=font, fill=INK)
        x += 20 + draw.textlength(name, font=font) + 28


def _tick_step(top: int) -> int:
    """A whole-number step that gives at most five gridlines above zero."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if top <= step * 5:
            return step
    return -(-top // 5)


@cache
def _font(size: int) -> Font:
    """Pillow's bundled font at ``size`` (no system fonts: the image is the same everywhere)."""
    return ImageFont.load_default(size=size)
