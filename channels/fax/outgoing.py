"""An agent's reply as a fax document: their text set on A4 pages at fax resolution, followed by
the pages of the PDFs and images they attached, as one PDF — what fax-to-email services take.

Written with Pillow (already here for received faxes) rather than a PDF-writing library: a fax
is pictures of pages anyway, and the receiving machine prints them at 204×196 dpi."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from channels.fax.pages import render_pages

# A4 at fine fax resolution: 1728 dots is the fax line; 11.69 in × 196 dpi.
PAGE_SIZE = (1728, 2292)
_MARGIN = 150
_FONT_PX = 30
_LINE_PX = 40
# Debian's DejaVu covers Latin, Greek and Cyrillic; Noto CJK, when installed, Chinese.
_FONTS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
MAX_PAGES = 50


class NotFaxable(ValueError):
    """The reply can't be made into a fax; the message says why."""


@dataclass(frozen=True)
class Enclosure:
    filename: str
    content_type: str
    data: bytes


def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in _FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, _FONT_PX)
    return ImageFont.load_default(size=_FONT_PX)


def _wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.replace("\r\n", "\n").split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if font.getlength(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            while font.getlength(word) > width:  # a word wider than the page (a URL): cut it
                cut = max(1, int(len(word) * width / font.getlength(word)))
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines


def text_pages(text: str, heading: str) -> list[Image.Image]:
    font = _font()
    lines = [heading, ""] + _wrap(text, font, PAGE_SIZE[0] - 2 * _MARGIN)
    per_page = (PAGE_SIZE[1] - 2 * _MARGIN) // _LINE_PX
    pages = []
    for start in range(0, len(lines), per_page):
        page = Image.new("L", PAGE_SIZE, 255)
        draw = ImageDraw.Draw(page)
        for i, line in enumerate(lines[start:start + per_page]):
            draw.text((_MARGIN, _MARGIN + i * _LINE_PX), line, font=font, fill=0)
        pages.append(page)
    return pages


def _enclosure_pages(enclosure: Enclosure) -> list[Image.Image]:
    if enclosure.content_type.startswith("image/") and enclosure.content_type != "image/tiff":
        try:
            image = Image.open(io.BytesIO(enclosure.data))
            image.load()
        except Exception:
            raise NotFaxable(f"{enclosure.filename} is not an image that can be read") from None
        image.thumbnail(PAGE_SIZE)
        return [image.convert("L")]
    rendered = render_pages(enclosure.data, enclosure.content_type, enclosure.filename, max_pages=MAX_PAGES)
    if not rendered.pages:
        reason = "; ".join(rendered.problems) or "it is not a PDF, TIFF, PostScript file or image"
        raise NotFaxable(f"{enclosure.filename} can't be faxed: {reason}")
    return [Image.open(io.BytesIO(page.png)).convert("L") for page in rendered.pages]


def fax_document(text: str, enclosures: list[Enclosure], *, heading: str) -> tuple[bytes, int]:
    """(the PDF, its page count). Raises NotFaxable."""
    pages = text_pages(text, heading) if text.strip() or not enclosures else []
    for enclosure in enclosures:
        pages += _enclosure_pages(enclosure)
    if len(pages) > MAX_PAGES:
        raise NotFaxable(f"the fax would have {len(pages)} pages; at most {MAX_PAGES} can be sent")
    out = io.BytesIO()
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:], resolution=200.0)
    return out.getvalue(), len(pages)
