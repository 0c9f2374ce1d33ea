"""The share card: a picture of a person's month (1080 x 1350, a phone's portrait post).

Takes texts already written in the person's language; knows nothing of Django or the data.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SIZE = (1080, 1350)
# Debian's fonts-noto-cjk (installed by `make install`); index 2 of the collection is Simplified
# Chinese, which also draws Latin letters and digits.
CJK_FONTS = {
    "regular": Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    "bold": Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
}
SIMPLIFIED_CHINESE = 2
GREEN_DARK = (19, 92, 54)
GREEN_LIGHT = (246, 250, 247)
INK = (29, 36, 32)
MUTED = (91, 102, 95)
WHITE = (255, 255, 255)
MARGIN = 80

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class CardText:
    title: str
    month: str
    figure: str
    figure_label: str
    points: str
    top_heading: str
    top: tuple[str, ...]
    equivalent: str
    footer: str


@lru_cache(maxsize=16)
def font(weight: str, size: int) -> Font:
    """The CJK font at this size, or Pillow's own if it is not installed (Chinese then shows as
    boxes, but the card is still made)."""
    path = CJK_FONTS.get(weight, CJK_FONTS["regular"])
    for candidate in (path, CJK_FONTS["regular"]):
        try:
            return ImageFont.truetype(str(candidate), size, index=SIMPLIFIED_CHINESE)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


# A Chinese character may break anywhere; other words break at spaces.
_TOKENS = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]|[^\s\u2e80-\u9fff]+|\s+")


def wrap(text: str, *, typeface: Font, width: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for token in _TOKENS.findall(text):
        candidate = line + token
        if line and typeface.getlength(candidate.rstrip()) > width:
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line = candidate
    if line.strip():
        lines.append(line.rstrip())
    return lines


def render(card: CardText) -> bytes:
    """The card as PNG bytes."""
    image = Image.new("RGB", SIZE, GREEN_LIGHT)
    draw = ImageDraw.Draw(image)
    width = SIZE[0] - 2 * MARGIN
    draw.rectangle((0, 0, SIZE[0], 300), fill=GREEN_DARK)
    draw.text((MARGIN, 70), card.title, font=font("bold", 56), fill=WHITE)
    draw.text((MARGIN, 165), card.month, font=font("regular", 52), fill=WHITE)

    y = 370
    draw.text((MARGIN, y), card.figure_label, font=font("regular", 40), fill=MUTED)
    y += 60
    size = 120
    while size > 48 and font("bold", size).getlength(card.figure) > width:
        size -= 12  # a large figure shrinks to fit rather than run off the card
    draw.text((MARGIN, y), card.figure, font=font("bold", size), fill=GREEN_DARK)
    y += 170
    draw.text((MARGIN, y), card.points, font=font("bold", 52), fill=INK)
    y += 100

    if card.top:
        draw.text((MARGIN, y), card.top_heading, font=font("regular", 40), fill=MUTED)
        y += 64
        for place, name in enumerate(card.top[:3], start=1):
            for line in wrap(f"{place}. {name}", typeface=font("regular", 46), width=width)[:2]:
                draw.text((MARGIN, y), line, font=font("regular", 46), fill=INK)
                y += 62
        y += 30

    for line in wrap(card.equivalent, typeface=font("regular", 40), width=width)[:3]:
        draw.text((MARGIN, y), line, font=font("regular", 40), fill=INK)
        y += 56

    draw.line((MARGIN, SIZE[1] - 130, SIZE[0] - MARGIN, SIZE[1] - 130), fill=GREEN_DARK, width=3)
    draw.text((MARGIN, SIZE[1] - 105), card.footer, font=font("regular", 36), fill=MUTED)
    output = io.BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()
