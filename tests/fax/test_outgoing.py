"""A reply by fax as the fax service gets it: the agent's text on A4 pages at fax width, then the
pages of what they attached, in one PDF that a fax machine can print."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw

from channels.fax.outgoing import PAGE_SIZE, Enclosure, NotFaxable, fax_document
from channels.fax.pages import render_pages


def pdf_with_box() -> bytes:
    page = Image.new("L", (1700, 2200), 255)
    ImageDraw.Draw(page).rectangle((1200, 1800, 1600, 2100), fill=0)  # bottom right
    out = io.BytesIO()
    page.save(out, "PDF", resolution=200.0)
    return out.getvalue()


def ink(image: Image.Image, box: tuple[int, int, int, int]) -> float:
    """The share of dark pixels in a region."""
    region = image.convert("L").crop(box)
    return sum(1 for p in region.getdata() if p < 128) / (region.width * region.height)


def test_the_agents_text_and_an_attached_pdf_become_one_fax_pdf():
    text = "Dear Mr Schmidt,\n\nthank you for your order. " + "The delivery comes on Monday. " * 60
    document, pages = fax_document(text, [Enclosure("terms.pdf", "application/pdf", pdf_with_box())], heading="Fax from Demo to +4930")
    assert document.startswith(b"%PDF-")
    rendered = render_pages(document, "application/pdf")
    assert rendered.page_count == pages == 2
    letter, terms = (Image.open(io.BytesIO(p.png)) for p in rendered.pages)
    assert letter.width == PAGE_SIZE[0]  # a fax line
    assert ink(letter, (0, 0, letter.width, letter.height // 3)) > 0.005  # the text is there, at the top
    assert ink(letter, (0, letter.height * 3 // 4, letter.width, letter.height)) == 0  # and ends on the page
    w, h = terms.size
    assert ink(terms, (w * 2 // 3, h * 3 // 4, w, h)) > 0.1  # the attachment's box, where it was
    assert ink(terms, (0, 0, w // 2, h // 2)) == 0


def test_a_long_letter_runs_over_several_pages():
    document, pages = fax_document("line\n" * 120, [], heading="Fax")
    assert pages == 3 and render_pages(document, "application/pdf").page_count == 3


def test_what_cannot_be_faxed_is_refused_with_the_reason():
    with pytest.raises(NotFaxable, match="archive.zip"):
        fax_document("See attached", [Enclosure("archive.zip", "application/zip", b"PK\x03\x04 zip bytes")], heading="Fax")
    with pytest.raises(NotFaxable, match="at most"):
        fax_document("page\n" * 3000, [], heading="Fax")


def test_chinese_text_is_written_in_its_own_glyphs_not_in_boxes():
    # A font without the script draws every character as the same box: two different sentences of
    # the same length would then look alike.
    def letter(text: str) -> Image.Image:
        document, _ = fax_document(text, [], heading="Fax")
        return Image.open(io.BytesIO(render_pages(document, "application/pdf").pages[0].png)).convert("L")

    thanks, delivery = letter("谢谢您的订单"), letter("星期一送货上")
    text_band = (0, 0, thanks.width, thanks.height // 6)
    assert ink(thanks, text_band) > 0.001
    assert thanks.crop(text_band).tobytes() != delivery.crop(text_band).tobytes()
