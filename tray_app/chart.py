"""A PNG timeline of the outage history (Pillow): one row per service, a bar per episode."""

from __future__ import annotations

import time

from PIL import Image, ImageDraw

from .core.levels import Level
from .history import Episode, uptime
from .icons import level_colour

WIDTH, ROW, MARGIN, LABEL = 900, 36, 16, 150


def draw_history(episodes: list[Episode], now: float, days: int = 30) -> Image.Image:
    services = sorted({e.service for e in episodes}) or ["Claude"]
    height = MARGIN * 3 + 40 + ROW * len(services) + 24
    img = Image.new("RGB", (WIDTH, height), (250, 250, 250))
    d = ImageDraw.Draw(img)
    start = now - days * 86400
    left, right = MARGIN + LABEL, WIDTH - MARGIN
    span = right - left
    d.text((MARGIN, MARGIN), f"Outages over the last {days} days "
           f"(uptime {uptime(episodes, days, now):.2f}%)", fill=(20, 20, 20))
    top = MARGIN + 30
    for day in range(days + 1):  # a tick per day, a label per week
        x = left + span * day / days
        d.line([(x, top), (x, top + ROW * len(services))], fill=(225, 225, 225))
        if (days - day) % 7 == 0:
            stamp = time.strftime("%d %b", time.localtime(start + day * 86400))
            d.text((x - 14, top + ROW * len(services) + 4), stamp, fill=(90, 90, 90))
    for row, service in enumerate(services):
        y = top + row * ROW
        d.text((MARGIN, y + ROW // 2 - 6), service[:22], fill=(20, 20, 20))
        d.rectangle([left, y + 8, right, y + ROW - 8], fill=level_colour(Level.OPERATIONAL))
        for e in sorted((e for e in episodes if e.service == service),
                        key=lambda e: e.level.rank):
            end = e.end if e.end is not None else now
            if end < start:
                continue
            x0 = left + span * max(0.0, (e.start - start)) / (days * 86400)
            x1 = left + span * min(1.0, (end - start) / (days * 86400))
            d.rectangle([x0, y + 8, max(x1, x0 + 2), y + ROW - 8], fill=level_colour(e.level))
    return img
