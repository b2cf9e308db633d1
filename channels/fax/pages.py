"""A received fax document (TIFF, PDF or PostScript) as page images for the inbox's page viewer.

A fax reaches the center as an e-mail attachment: TIFF Class F (G3 1D/2D or G4, often several
pages, fine 204×196 or normal 204×98 dpi), PDF, or PostScript (HylaFAX's default). `render_pages`
turns it into one PNG per page with square pixels, so a normal-resolution page is not squashed;
the original file stays downloadable, so nothing here has to be lossless.

The document is untrusted input (DESIGN.md): `render_pages` never raises. What could not be shown
is said in `problems` (agents see them as a warning) and the pages that could be read are kept.
Decompression bombs (a header claiming a gigantic page) are refused before decoding, and only the
first `max_pages` pages are rendered. PostScript is a program: it runs in Ghostscript with -dSAFER,
in a private temporary directory (Ghostscript's SAFER mode lets a document read, write and delete
files in TMPDIR, so TMPDIR is pointed at that directory), under a timeout and resource limits.

Pure, synchronous and CPU-bound: the caller runs it in an executor or, better, a process pool (a
crafted file is then contained, and PDFium, which is not thread-safe, gets a process of its own).
"""

from __future__ import annotations

import io
import math
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pypdfium2 as pdfium
from PIL import Image, features

Kind = Literal["tiff", "pdf", "postscript"]

PAGE_WIDTH = 1728  # pixels across a page's short side: a fax line (204 dpi on A4, 203 on Letter)
MAX_PDF_SCALE = 600 / 72  # a tiny PDF page is not blown up beyond 600 dpi
GS_DPI = 200
GS_MAX_FILE_BYTES = 256 * 1024 * 1024  # per file Ghostscript writes (a page, its stdout, its stderr)
GS_MAX_MEMORY_BYTES = 2 * 1024 * 1024 * 1024

_TYPES: dict[str, Kind] = {
    "image/tiff": "tiff", "image/tif": "tiff", "image/x-tiff": "tiff", "image/x-tif": "tiff",
    "image/tiff-fx": "tiff", "application/tiff": "tiff",
    "application/pdf": "pdf", "application/x-pdf": "pdf", "application/acrobat": "pdf",
    "application/postscript": "postscript", "application/ps": "postscript",
    "application/x-postscript": "postscript", "application/eps": "postscript",
}
_GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/x-octet-stream"})
_EXTENSIONS: dict[str, Kind] = {".tif": "tiff", ".tiff": "tiff", ".pdf": "pdf", ".ps": "postscript"}
_NAMES: dict[Kind, str] = {"tiff": "TIFF", "pdf": "PDF", "postscript": "PostScript"}

# PDFium may not be called from two threads at once, not even for different documents.
_PDFIUM_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class Page:
    png: bytes
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class RenderedFax:
    pages: list[Page] = field(default_factory=list)
    page_count: int = 0  # pages in the document, also those not rendered (0 when unknown)
    problems: list[str] = field(default_factory=list)


def is_fax_document(content_type: str, filename: str, head: bytes) -> bool:
    """Whether an attachment is a document `render_pages` can show: by its first bytes, by its
    declared type, or — when the type says nothing ("application/octet-stream") — by its name."""
    return _declared_kind(content_type, filename) is not None or _sniff(head) is not None


def render_pages(data: bytes, content_type: str, filename: str = "", *, max_pages: int = 50,
                 max_pixels: int = 40_000_000, timeout: float = 60.0) -> RenderedFax:
    """The document's pages as PNGs, at most `max_pages` of them, none over `max_pixels`.
    `timeout` bounds the Ghostscript run for PostScript. Never raises for a bad document."""
    if not data:
        return RenderedFax(problems=["the file is empty"])
    kind = _sniff(data) or _declared_kind(content_type, filename)
    if kind is None:
        return RenderedFax(problems=["the file is not a fax document (TIFF, PDF or PostScript)"])
    try:
        if kind == "tiff":
            return _render_tiff(data, max_pages, max_pixels)
        if kind == "pdf":
            return _render_pdf(data, max_pages, max_pixels)
        return _render_postscript(data, max_pages, max_pixels, timeout)
    except Exception as exc:  # a last resort: a bad fax must never take the intake down
        return RenderedFax(problems=[f"the {_NAMES[kind]} could not be rendered: {_describe(exc)}"])


# --- what a file is --------------------------------------------------------------------------

def _sniff(head: bytes) -> Kind | None:
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):  # TIFF, BigTIFF
        return "tiff"
    if head.find(b"%PDF-", 0, 1024) >= 0:  # readers accept junk before the header
        return "pdf"
    if head.lstrip(b"\x04\r\n\t ").startswith(b"%!PS") or head.startswith(b"\xc5\xd0\xd3\xc6"):  # DOS EPS
        return "postscript"
    return None


def _declared_kind(content_type: str, filename: str) -> Kind | None:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type in _TYPES:
        return _TYPES[media_type]
    if media_type in _GENERIC_TYPES:
        return _EXTENSIONS.get(os.path.splitext(filename.strip().lower())[1])
    return None


# --- TIFF ------------------------------------------------------------------------------------

def _render_tiff(data: bytes, max_pages: int, max_pixels: int) -> RenderedFax:
    problems: list[str] = []
    try:
        image = Image.open(io.BytesIO(data), formats=["TIFF"])
    except Image.DecompressionBombError:
        return RenderedFax(problems=["the page is too large to show"])
    except Exception:
        return RenderedFax(problems=["the file is not a valid TIFF"])
    with image:
        try:
            count = image.n_frames
        except Exception:
            count = _readable_frames(image)
            problems.append(f"the TIFF is damaged after page {count}")
        pages: list[Page] = []
        for index in range(min(count, max_pages)):
            try:
                image.seek(index)
                width, height = image.size
                if width * height > max_pixels:
                    problems.append(f"page {index + 1} is too large to show ({width}×{height} pixels)")
                    continue
                pages.append(_png_page(_tiff_page(image, max_pixels)))
            except Exception as exc:
                problems.append(f"page {index + 1} could not be read: {_tiff_failure(image, exc)}")
    return RenderedFax(pages, count, _cap_note(max_pages, count) + problems)


def _tiff_failure(image: Image.Image, exc: Exception) -> str:
    if image.info.get("compression") in ("group3", "group4", "tiff_ccitt") and not features.check("libtiff"):
        return "fax compression (G3/G4) needs Pillow built with libtiff"
    return _describe(exc)


def _readable_frames(image: Image.Image) -> int:
    count = 0
    while True:
        try:
            image.seek(count)
        except Exception:
            return max(count, 1)
        count += 1


def _tiff_page(frame: Image.Image, max_pixels: int) -> Image.Image:
    """One TIFF page with square pixels: a normal-resolution fax (204×98 dpi) is stretched to
    about twice its stored height. Pillow turns a page upright as its Orientation tag says (the
    size it reports is already turned), so a page stored sideways is stretched across."""
    sideways = frame.tag_v2.get(274) in (5, 6, 7, 8)  # read before load(), which drops the tag
    aspect = _pixel_aspect(frame)
    frame.load()
    width, height = frame.size
    stretched = (max(1, round(width * aspect)), height) if sideways else (width, max(1, round(height * aspect)))
    target = _fit(stretched, max_pixels)
    image = _displayable(frame)
    if target != (width, height):
        if image.mode == "1":
            image = image.convert("L")
        image = image.resize(target, Image.Resampling.BICUBIC)
    return image


def _pixel_aspect(frame: Image.Image) -> float:
    """How much taller a stored pixel is than wide (x dpi / y dpi); 1 for square or nearly square
    pixels (fine resolution, 204×196) and for resolution tags that make no sense."""
    tags = getattr(frame, "tag_v2", {})
    resolution = (tags.get(282), tags.get(283)) if 282 in tags and 283 in tags else frame.info.get("dpi")
    try:
        xres, yres = float(resolution[0]), float(resolution[1])  # type: ignore[index]
        aspect = xres / yres
    except (TypeError, ValueError, IndexError, ZeroDivisionError):
        return 1.0
    if not math.isfinite(aspect) or not 1 / 8 <= aspect <= 8 or abs(aspect - 1) < 0.1:
        return 1.0
    return aspect


def _displayable(image: Image.Image) -> Image.Image:
    """Bilevel, grey or colour: what a PNG holds and a browser shows as the fax looked."""
    if image.mode in ("1", "L", "RGB"):
        return image
    if image.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        low, high = image.getextrema()
        span = (high - low) or 1
        return image.convert("F").point(lambda v: (v - low) * 255 / span).convert("L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("LA", "La", "PA", "RGBA", "RGBa"):
        background = Image.new("RGB", image.size, "white")
        background.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        return background
    return image.convert("RGB")


# --- PDF -------------------------------------------------------------------------------------

def _render_pdf(data: bytes, max_pages: int, max_pixels: int) -> RenderedFax:
    with _PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if "password" in str(exc).lower():
                return RenderedFax(problems=["the PDF is password-protected"])
            return RenderedFax(problems=["the file is not a valid PDF"])
        try:
            count = len(document)
            pages: list[Page] = []
            problems: list[str] = [] if count else ["the PDF has no pages"]
            for index in range(min(count, max_pages)):
                try:
                    pages.append(_png_page(_pdf_page(document, index, max_pixels)))
                except Exception as exc:
                    problems.append(f"page {index + 1} could not be rendered: {_describe(exc)}")
        finally:
            document.close()
    return RenderedFax(pages, count, _cap_note(max_pages, count) + problems)


def _pdf_page(document: pdfium.PdfDocument, index: int, max_pixels: int) -> Image.Image:
    """A page in grey at fax scale: its short side 1728 pixels, a fax line, so that a fax's own
    204 dpi images are drawn pixel for pixel."""
    page = document[index]
    try:
        width, height = page.get_size()  # points, turned as the page's /Rotate says
        if not (width >= 1 and height >= 1 and math.isfinite(width * height)):
            raise ValueError(f"the page has no usable size ({width}×{height} points)")
        # A hair under, as PDFium rounds sizes up: a 204 dpi fax page comes out 1728 wide, not 1729.
        scale = min(PAGE_WIDTH / min(width, height), MAX_PDF_SCALE) * (1 - 1e-6)
        pixels = width * height * scale * scale
        if pixels > max_pixels * 0.99:
            scale *= math.sqrt(max_pixels * 0.99 / pixels)
        bitmap = page.render(scale=scale, grayscale=True, may_draw_forms=False)
        try:
            return bitmap.to_pil().copy()  # to_pil shares PDFium's buffer, freed with the bitmap
        finally:
            bitmap.close()
    finally:
        page.close()


# --- PostScript ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _GsRun:
    returncode: int | None  # None: stopped at the timeout
    stdout: bytes
    error: str  # Ghostscript's own words on what went wrong, "" when nothing did


def _render_postscript(data: bytes, max_pages: int, max_pixels: int, timeout: float) -> RenderedFax:
    gs = shutil.which("gs")
    if gs is None:
        return RenderedFax(problems=["PostScript could not be rendered: Ghostscript is not installed"])
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryDirectory(prefix="wecc-fax-", ignore_cleanup_errors=True) as work:
        source = Path(work, "document.ps")  # our name, never the document's
        source.write_bytes(data)
        output = Path(work, "pages")
        output.mkdir()
        run = _run_gs(gs, Path(work), deadline, [
            "-sDEVICE=pnggray", f"-r{GS_DPI}", "-dTextAlphaBits=4", "-dGraphicsAlphaBits=4",
            "-dFirstPage=1", f"-dLastPage={max_pages}", f"-sOutputFile={output}/page-%05d.png",
            "-f", str(source)])
        pages, problems = _gs_pages(_page_files(output, max_pages), max_pixels)
        rendered = len(pages) + len(problems)
        count = rendered
        if run.returncode is None:
            problems.append(f"PostScript took longer than {timeout:g} s to render and was stopped")
        elif run.returncode != 0:
            what = "rendered completely" if rendered else "rendered"
            problems.append(f"PostScript could not be {what}: {run.error or 'Ghostscript failed'}")
        elif rendered == 0:
            problems.append("the PostScript document has no pages")
        elif rendered >= max_pages:
            counted = _count_gs_pages(gs, Path(work), source, deadline)
            if counted is None:
                problems.append(f"only the first {max_pages} pages are shown; the document may have more")
            count = max(counted or 0, rendered)
    return RenderedFax(pages, count, _cap_note(max_pages, count) + problems)


def _page_files(output: Path, max_pages: int) -> list[Path]:
    """Ghostscript's pages in order; only the names it writes, as the document can write there too."""
    files: list[Path] = []
    for number in range(1, max_pages + 1):
        path = output / f"page-{number:05d}.png"
        if not path.is_file():
            break
        files.append(path)
    return files


def _gs_pages(files: list[Path], max_pixels: int) -> tuple[list[Page], list[str]]:
    pages: list[Page] = []
    problems: list[str] = []
    for number, path in enumerate(files, start=1):
        try:
            png = path.read_bytes()
            with Image.open(io.BytesIO(png), formats=["PNG"]) as image:
                width, height = image.size
                if width * height > max_pixels:
                    problems.append(f"page {number} is too large to show ({width}×{height} pixels)")
                    continue
                image.load()  # a whole, readable PNG (the document can write into this folder)
            pages.append(Page(png, width, height))
        except Exception as exc:
            problems.append(f"page {number} could not be read: {_describe(exc)}")
    return pages, problems


def _count_gs_pages(gs: str, work: Path, source: Path, deadline: float) -> int | None:
    """The document's pages, by running it once more without drawing (only when the first run
    stopped at max_pages); None when that run fails or runs out of time."""
    marker = f"WECC-{secrets.token_hex(8)}-PAGES"
    run = _run_gs(gs, work, deadline, [
        "-sDEVICE=nullpage", "-f", str(source),
        "-c", f"(\\n{marker}=) print currentpagedevice /PageCount get == flush"])
    found = re.findall(rb"%s=(\d+)" % marker.encode(), run.stdout)
    return int(found[-1]) if run.returncode == 0 and found else None


def _run_gs(gs: str, work: Path, deadline: float, arguments: list[str]) -> _GsRun:
    """Ghostscript in SAFER mode inside `work`: its TMPDIR (which SAFER leaves open to the
    document), its only output, killed at the deadline; files and memory capped by prlimit."""
    command = [gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-dNOPROMPT", *arguments]
    prlimit = shutil.which("prlimit")
    if prlimit is not None:
        command = [prlimit, f"--fsize={GS_MAX_FILE_BYTES}", f"--as={GS_MAX_MEMORY_BYTES}", "--", *command]
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work), "LC_ALL": "C",
                   "TMPDIR": str(work), "TMP": str(work), "TEMP": str(work)}  # and no GS_OPTIONS
    stdout_path, stderr_path = work / "gs-stdout.txt", work / "gs-stderr.txt"
    with open(stdout_path, "wb") as stdout, open(stderr_path, "wb") as stderr:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                                   cwd=work, env=environment, start_new_session=True)
        try:
            returncode: int | None = process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            returncode = None
            _kill(process)
    output = _tail(stdout_path)
    return _GsRun(returncode, output, _gs_error(output + b"\n" + _tail(stderr_path), returncode))


def _kill(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: Ghostscript and anything it started
    except ProcessLookupError:
        pass
    process.wait()


def _tail(path: Path, size: int = 16384) -> bytes:
    with open(path, "rb") as file:
        file.seek(max(0, path.stat().st_size - size))
        return file.read()


def _gs_error(messages: bytes, returncode: int | None) -> str:
    """What Ghostscript said went wrong: its "Error: /invalidfileaccess in --deletefile--" line
    (printed on stdout with -q), else its last words."""
    if returncode in (0, None):
        return ""
    if returncode < 0:
        return {signal.SIGXFSZ: "its output grew too large", signal.SIGKILL: "it was killed",
                signal.SIGSEGV: "Ghostscript crashed"}.get(-returncode, f"it stopped on signal {-returncode}")
    lines = [line.strip() for line in messages.decode("utf-8", "replace").splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    return _printable((errors or lines or [""])[-1])


# --- shared ----------------------------------------------------------------------------------

def _png_page(image: Image.Image) -> Page:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return Page(buffer.getvalue(), image.width, image.height)


def _fit(size: tuple[int, int], max_pixels: int) -> tuple[int, int]:
    width, height = size
    if width * height <= max_pixels:
        return size
    factor = math.sqrt(max_pixels / (width * height))
    return max(1, int(width * factor)), max(1, int(height * factor))


def _cap_note(max_pages: int, count: int) -> list[str]:
    return [f"only the first {max_pages} of {count} pages are shown"] if count > max_pages else []


def _describe(exc: Exception) -> str:
    return _printable(str(exc)) or type(exc).__name__


def _printable(text: str, limit: int = 200) -> str:
    """Words from a decoder or from Ghostscript (which the document can steer): one short line."""
    cleaned = "".join(c if c.isprintable() else " " for c in text).strip()
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
