"""Fax documents as an agent's page viewer shows them: TIFF G3/G4 at fine and normal resolution,
PDF and PostScript, made here the way fax servers make them. Checked is what an agent would see —
how many pages, in which order, the right shape, a mark where it was drawn — and that a broken or
hostile file gives a warning instead of an error, and PostScript can't touch the disk."""

from __future__ import annotations

import io
import os
import struct
import time
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, TiffImagePlugin, features

from channels.fax.pages import Page, RenderedFax, is_fax_document, render_pages

FINE = (204, 196)
NORMAL = (204, 98)
LETTER = (612, 792)  # points

# Where things are on every test page, as fractions of the page (left, top, right, bottom).
MARK = (0.06, 0.05, 0.20, 0.10)  # a black box in the top-left quarter
BLANK = (0.55, 0.55, 0.95, 0.95)  # nothing is drawn in the bottom-right quarter


def page_marker(index: int) -> tuple[float, float, float, float]:
    """A small box whose place says which page this is, so the order can be checked."""
    left = 0.30 + 0.10 * index
    return (left, 0.05, left + 0.05, 0.08)


def fax_page(index: int, size: tuple[int, int] = (1728, 2200)) -> Image.Image:
    """A bilevel page as a fax machine scans it: the mark, the page's marker, lines of text."""
    page = Image.new("1", size, 1)
    draw = ImageDraw.Draw(page)
    width, height = size
    for box in (MARK, page_marker(index)):
        draw.rectangle((box[0] * width, box[1] * height, box[2] * width, box[3] * height), fill=0)
    for line in range(20):
        y = height * (0.5 + line * 0.02)
        draw.text((width * 0.06, y), f"Page {index + 1}, line {line + 1}: please call back", fill=0)
    return page


def fax_tiff(pages: int, compression: str, dpi: tuple[int, int], **tags: int) -> bytes:
    height = 2200 if dpi == FINE else 1100  # Letter length at 196 or 98 lines per inch
    images = [fax_page(i, (1728, height)) for i in range(pages)]
    info = TiffImagePlugin.ImageFileDirectory_v2()
    for tag, value in tags.items():
        info[int(tag.removeprefix("tag"))] = value
    buffer = io.BytesIO()
    images[0].save(buffer, "TIFF", save_all=True, append_images=images[1:], compression=compression,
                   dpi=dpi, tiffinfo=info)
    return buffer.getvalue()


def fax_pdf(pages: int, landscape_last: bool = False) -> bytes:
    """A PDF as fax servers write it: one CCITT G4 image per page at 204 dpi."""
    images = [fax_page(i) for i in range(pages)]
    if landscape_last:
        images[-1] = fax_page(pages - 1, (2200, 1728))
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", save_all=True, append_images=images[1:], resolution=204)
    return buffer.getvalue()


def postscript(pages: int, setup: str = "") -> bytes:
    """A PostScript fax of Letter pages with the same layout as the images above."""
    width, height = LETTER

    def box(area: tuple[float, float, float, float]) -> str:
        left, top, right, bottom = area
        return (f"newpath {left * width:.1f} {height * (1 - bottom):.1f} {(right - left) * width:.1f} "
                f"{(bottom - top) * height:.1f} rectfill")

    body = [f"<< /PageSize [{width} {height}] >> setpagedevice", "/Courier findfont 10 scalefont setfont", setup]
    for index in range(pages):
        body += [box(MARK), box(page_marker(index)),
                 f"{0.06 * width:.1f} {0.4 * height:.1f} moveto (Page {index + 1}: please call back) show",
                 "showpage"]
    return ("%!PS-Adobe-3.0\n%%Pages: " + str(pages) + "\n" + "\n".join(body) + "\n%%EOF\n").encode()


def darkness(page: Page, area: tuple[float, float, float, float]) -> float:
    """The share of dark pixels in an area of a rendered page (a little inside its edges)."""
    image = Image.open(io.BytesIO(page.png))
    assert image.format == "PNG" and image.size == (page.width, page.height)
    left, top, right, bottom = area
    inset_x, inset_y = (right - left) * 0.1, (bottom - top) * 0.1
    crop = image.convert("L").crop((round((left + inset_x) * page.width), round((top + inset_y) * page.height),
                                    round((right - inset_x) * page.width), round((bottom - inset_y) * page.height)))
    histogram = crop.histogram()
    return sum(histogram[:128]) / sum(histogram)


def assert_pages_as_drawn(result: RenderedFax, count: int) -> None:
    assert len(result.pages) == count
    for index, page in enumerate(result.pages):
        assert darkness(page, MARK) > 0.95, f"page {index + 1}: the black box is not top left"
        assert darkness(page, BLANK) < 0.01, f"page {index + 1}: something in the empty quarter"
        for other in range(count):
            expected = other == index
            assert (darkness(page, page_marker(other)) > 0.95) is expected, f"page {index + 1} out of order"


def with_size(tiff: bytes, page: int, width: int, height: int) -> bytes:
    """The TIFF with one page's ImageWidth/ImageLength tags changed: a header claiming a huge page
    over a small G4 stream, which is how a decompression bomb looks."""
    data = bytearray(tiff)
    assert data[:2] == b"II"
    offset = struct.unpack_from("<I", data, 4)[0]
    for _ in range(page):
        entries = struct.unpack_from("<H", data, offset)[0]
        offset = struct.unpack_from("<I", data, offset + 2 + 12 * entries)[0]
    for entry in range(struct.unpack_from("<H", data, offset)[0]):
        place = offset + 2 + 12 * entry
        tag, kind = struct.unpack_from("<HH", data, place)
        if tag in (256, 257):
            struct.pack_into("<H" if kind == 3 else "<I", data, place + 8, width if tag == 256 else height)
    return bytes(data)


# --- TIFF ----------------------------------------------------------------------------------------

def test_pillow_decodes_fax_compression() -> None:
    assert features.check("libtiff"), "Pillow without libtiff can't read G3/G4 faxes"


CODINGS = {
    "G3 1D": ("group3", {}),
    "G3 2D, bits LSB first like HylaFAX": ("group3", {"tag292": 1, "tag266": 2}),  # T4Options, FillOrder
    "G4": ("group4", {}),
}


@pytest.mark.parametrize("coding", CODINGS)
def test_a_fine_fax_shows_every_page_as_scanned(coding: str) -> None:
    compression, tags = CODINGS[coding]
    result = render_pages(fax_tiff(3, compression, FINE, **tags), "image/tiff", "fax.tif")
    assert result.problems == []
    assert result.page_count == 3
    assert [(p.width, p.height) for p in result.pages] == [(1728, 2200)] * 3  # 204×196: not stretched
    assert_pages_as_drawn(result, 3)


@pytest.mark.parametrize("coding", CODINGS)
def test_a_normal_resolution_fax_is_stretched_to_its_real_shape(coding: str) -> None:
    compression, tags = CODINGS[coding]
    result = render_pages(fax_tiff(3, compression, NORMAL, **tags), "image/tiff", "fax.tif")
    assert result.problems == []
    assert result.page_count == 3
    for page in result.pages:
        assert page.width == 1728
        assert abs(page.height - 1100 * 204 / 98) <= 1  # 2290: each stored line is two lines tall
    assert_pages_as_drawn(result, 3)


def test_a_page_stored_sideways_is_shown_upright_and_stretched_along_its_lines() -> None:
    upright = render_pages(fax_tiff(1, "group4", NORMAL), "image/tiff").pages[0]
    sideways = render_pages(fax_tiff(1, "group4", NORMAL, tag274=6), "image/tiff").pages[0]  # Orientation
    assert (sideways.width, sideways.height) == (upright.height, upright.width)
    turned = Image.open(io.BytesIO(upright.png)).transpose(Image.Transpose.ROTATE_270)
    difference = ImageChops.difference(turned.convert("L"), Image.open(io.BytesIO(sideways.png)).convert("L"))
    assert difference.getextrema() == (0, 0)


def test_a_tiff_sent_as_octet_stream_is_recognised_by_its_bytes() -> None:
    result = render_pages(fax_tiff(1, "group4", FINE), "application/octet-stream", "")
    assert result.page_count == 1 and len(result.pages) == 1


def test_only_the_first_pages_of_a_long_tiff_are_rendered() -> None:
    result = render_pages(fax_tiff(5, "group4", FINE), "image/tiff", max_pages=2)
    assert result.page_count == 5
    assert_pages_as_drawn(RenderedFax(result.pages, 2), 2)
    assert result.problems == ["only the first 2 of 5 pages are shown"]


def test_a_tiff_that_claims_a_huge_page_is_refused_before_decoding() -> None:
    bomb = with_size(fax_tiff(1, "group4", FINE), 0, 8000, 8000)  # 64 megapixels over a few KB
    result = render_pages(bomb, "image/tiff")
    assert result.pages == []
    assert result.problems == ["page 1 is too large to show (8000×8000 pixels)"]


def test_a_tiff_that_claims_a_gigantic_page_is_refused() -> None:
    bomb = with_size(fax_tiff(1, "group4", FINE), 0, 65000, 65000)  # beyond Pillow's own limit
    result = render_pages(bomb, "image/tiff")
    assert result.pages == []
    assert result.problems == ["the page is too large to show"]


def test_a_huge_page_in_the_middle_does_not_hide_the_others() -> None:
    bomb = with_size(fax_tiff(3, "group4", FINE), 1, 8000, 8000)
    result = render_pages(bomb, "image/tiff")
    assert result.page_count == 3
    assert len(result.pages) == 2
    assert result.problems == ["page 2 is too large to show (8000×8000 pixels)"]


def test_a_stretched_page_is_scaled_down_to_the_pixel_limit() -> None:
    result = render_pages(fax_tiff(1, "group4", NORMAL), "image/tiff", max_pixels=3_000_000)
    page = result.pages[0]
    assert page.width * page.height <= 3_000_000
    assert abs(page.height / page.width - (1100 * 204 / 98) / 1728) < 0.01
    assert darkness(page, MARK) > 0.95


def test_a_truncated_tiff_keeps_the_pages_that_arrived() -> None:
    whole = fax_tiff(3, "group4", FINE)
    result = render_pages(whole[: len(whole) // 2], "image/tiff")
    assert 1 <= len(result.pages) < 3
    assert darkness(result.pages[0], MARK) > 0.95
    assert any("damaged" in problem for problem in result.problems)


# --- PDF -----------------------------------------------------------------------------------------

def test_a_pdf_fax_shows_every_page_at_fax_scale() -> None:
    result = render_pages(fax_pdf(2), "application/pdf", "fax.pdf")
    assert result.problems == []
    assert result.page_count == 2
    for page in result.pages:
        assert (page.width, page.height) == (1728, 2200)  # a fax line: the 204 dpi images pixel for pixel
    assert_pages_as_drawn(result, 2)


def test_a_landscape_pdf_page_stays_landscape() -> None:
    result = render_pages(fax_pdf(2, landscape_last=True), "application/pdf")
    landscape = result.pages[1]
    assert (landscape.width, landscape.height) == (2200, 1728)
    assert darkness(landscape, MARK) > 0.95 and darkness(landscape, BLANK) < 0.01


def test_only_the_first_pages_of_a_long_pdf_are_rendered() -> None:
    result = render_pages(fax_pdf(5), "application/pdf", max_pages=2)
    assert result.page_count == 5
    assert_pages_as_drawn(RenderedFax(result.pages, 2), 2)
    assert result.problems == ["only the first 2 of 5 pages are shown"]


def test_a_pdf_page_is_rendered_smaller_rather_than_over_the_pixel_limit() -> None:
    result = render_pages(fax_pdf(1), "application/pdf", max_pixels=1_000_000)
    page = result.pages[0]
    assert page.width * page.height <= 1_000_000
    assert darkness(page, MARK) > 0.95


# --- PostScript ----------------------------------------------------------------------------------

def test_a_postscript_fax_shows_every_page() -> None:
    result = render_pages(postscript(2), "application/postscript", "fax.ps")
    assert result.problems == []
    assert result.page_count == 2
    assert [(p.width, p.height) for p in result.pages] == [(1700, 2200)] * 2  # Letter at 200 dpi
    assert_pages_as_drawn(result, 2)


def test_only_the_first_pages_of_a_long_postscript_are_rendered_but_all_are_counted() -> None:
    result = render_pages(postscript(5), "application/postscript", max_pages=2)
    assert result.page_count == 5
    assert_pages_as_drawn(RenderedFax(result.pages, 2), 2)
    assert result.problems == ["only the first 2 of 5 pages are shown"]


def test_a_postscript_page_over_the_pixel_limit_is_refused() -> None:
    result = render_pages(postscript(1), "application/postscript", max_pixels=1_000_000)
    assert result.pages == []
    assert result.problems == ["page 1 is too large to show (1700×2200 pixels)"]


# tmp_path is under /tmp on purpose: Ghostscript's SAFER mode leaves TMPDIR open to the document.
ATTACKS = {
    "read": "({victim}) (r) file 100 string readstring pop 72 700 moveto show",
    "delete": "({victim}) deletefile",
    "rename": "({victim}) ({victim}.gone) renamefile",
    "overwrite": "({victim}) (w) file dup (owned) writestring closefile",
    "create": "({folder}/new.txt) (w) file closefile",
    "run a command": "(%pipe%touch {folder}/new.txt) (w) file closefile",
}


@pytest.mark.parametrize("attack", ATTACKS)
def test_postscript_cannot_touch_files(attack: str, tmp_path: Path) -> None:
    victim = tmp_path / "customer.txt"
    victim.write_text("secret")
    program = ATTACKS[attack].format(victim=victim, folder=tmp_path)
    result = render_pages(postscript(1, setup=program), "application/postscript")
    assert result.pages == []
    assert len(result.problems) == 1 and result.problems[0].startswith("PostScript could not be rendered: Error: /")
    assert victim.read_text() == "secret"
    assert sorted(os.listdir(tmp_path)) == ["customer.txt"]


def test_a_postscript_program_that_never_ends_is_stopped() -> None:
    started = time.monotonic()
    result = render_pages(postscript(1, setup="{ } loop"), "application/postscript", timeout=2)
    assert time.monotonic() - started < 10
    assert result.pages == []
    assert result.problems == ["PostScript took longer than 2 s to render and was stopped"]


def test_postscript_without_ghostscript_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    result = render_pages(postscript(1), "application/postscript")
    assert result.pages == []
    assert result.problems == ["PostScript could not be rendered: Ghostscript is not installed"]


def test_a_postscript_document_without_pages_says_so() -> None:
    result = render_pages(b"%!PS\n1 2 add pop\n", "application/postscript")
    assert result.pages == [] and result.page_count == 0
    assert result.problems == ["the PostScript document has no pages"]


# --- broken and unknown files --------------------------------------------------------------------

BROKEN = {
    "empty": (b"", "image/tiff", "the file is empty"),
    "TIFF header, then garbage": (b"II*\x00" + os.urandom(2000), "image/tiff", "the file is not a valid TIFF"),
    "TIFF without its pages": (b"", "image/tiff", "the file is not a valid TIFF"),  # filled in below
    "truncated PDF": (b"", "application/pdf", "the file is not a valid PDF"),  # filled in below
    "random bytes as TIFF": (os.urandom(4000), "image/tiff", "the file is not a valid TIFF"),
    "random bytes as PDF": (os.urandom(4000), "application/pdf", "the file is not a valid PDF"),
    "random bytes as PostScript": (os.urandom(4000), "application/postscript", "PostScript could not be rendered"),
    "random bytes": (os.urandom(4000), "application/octet-stream", "the file is not a fax document"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_a_broken_file_gives_a_warning_and_no_pages(case: str) -> None:
    data, content_type, problem = BROKEN[case]
    if case == "TIFF without its pages":
        data = fax_tiff(1, "group4", FINE)[:100]  # the header, no directory
    if case == "truncated PDF":
        whole = fax_pdf(2)
        data = whole[: len(whole) * 3 // 4]
    result = render_pages(data, content_type)
    assert result.pages == []
    assert len(result.problems) == 1 and result.problems[0].startswith(problem)


# --- recognising fax documents -------------------------------------------------------------------

@pytest.mark.parametrize(("content_type", "filename", "head", "expected"), [
    ("image/tiff", "fax.tif", b"II*\x00\x08\x00", True),
    ("application/octet-stream", "", b"MM\x00*\x00\x00", True),
    ("application/octet-stream", "FAX0001.TIFF", b"", True),
    ("application/pdf", "fax.pdf", b"%PDF-1.4", True),
    ("Application/PDF; name=\"fax.pdf\"", "", b"", True),
    ("application/octet-stream", "scan.pdf", b"", True),
    ("", "", b"%PDF-1.7\n", True),
    ("application/postscript", "fax.ps", b"%!PS-Adobe-3.0", True),
    ("application/octet-stream", "fax.ps", b"\x04%!PS-Adobe-3.0", True),
    ("application/octet-stream", "fax.ps", b"", True),
    ("text/plain", "notes.txt", b"Please call me back", False),
    ("application/octet-stream", "notes.txt", b"Please call me back", False),
    ("image/png", "logo.png", b"\x89PNG\r\n\x1a\n", False),
])
def test_fax_documents_are_recognised(content_type: str, filename: str, head: bytes, expected: bool) -> None:
    assert is_fax_document(content_type, filename, head) is expected
