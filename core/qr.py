"""QR codes for what donors show on their phones: certificates, check-in codes, benefit codes.

One place decides the symbol (error correction M, so a scratched screen still scans) and the two
formats the apps ask for; codes that rotate are never cached by a browser or proxy.

Drawing a symbol costs milliseconds of CPU (a check-in code's PNG about 20 ms), so an image
route asked again and again could hold the workers: every donor's QR images count against one
limit per donor (`per_donor_limit`), and a text that is drawn again (a certificate's link, a
check-in code within its rotation step) comes from a bounded cache of recent drawings.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict

import qrcode
import qrcode.image.svg
from flask import Response, current_app

from core.limits import limit_per_caller

PNG = "png"
SVG = "svg"
NO_STORE = {"Cache-Control": "no-store"}
_MIMETYPES = {PNG: "image/png", SVG: "image/svg+xml"}

per_donor_limit = limit_per_caller("QR_IMAGE_RATE_LIMIT")


def qr_symbol(text: str, box_size: int = 6) -> qrcode.QRCode:
    symbol = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=4
    )
    symbol.add_data(text)
    symbol.make(fit=True)
    return symbol


def render(text: str, image_format: str, box_size: int = 6) -> bytes:
    """`text` drawn as a PNG or SVG QR code (always drawn anew)."""
    symbol = qr_symbol(text, box_size)
    buffer = io.BytesIO()
    if image_format == SVG:
        symbol.make_image(image_factory=qrcode.image.svg.SvgPathImage).save(buffer)
    else:
        symbol.make_image().save(buffer, format="PNG")
    return buffer.getvalue()


class RenderCache:
    """The most recently used drawings, at most `QR_CACHE_ENTRIES` of them (0: none kept).

    Keyed by the text itself: a text that changes (a new check-in code) is a new entry, and the
    old one ages out. Shared by the threads of a worker process.
    """

    def __init__(self) -> None:
        self._images: OrderedDict[tuple[str, str, int], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def image(self, text: str, image_format: str, box_size: int) -> bytes:
        key = (text, image_format, box_size)
        with self._lock:
            found = self._images.get(key)
            if found is not None:
                self._images.move_to_end(key)
                return found
        drawn = render(text, image_format, box_size)
        limit = current_app.config["QR_CACHE_ENTRIES"]
        with self._lock:
            self._images[key] = drawn
            while len(self._images) > limit:
                self._images.popitem(last=False)
        return drawn

    def __len__(self) -> int:
        return len(self._images)

    def clear(self) -> None:
        with self._lock:
            self._images.clear()


render_cache = RenderCache()


def qr_response(
    text: str,
    image_format: str,
    *,
    box_size: int = 6,
    headers: dict[str, str] | None = None,
    cached: bool = False,
) -> Response:
    """`text` as a PNG or SVG QR code; `cached` for a text that will be asked for again."""
    image = (
        render_cache.image(text, image_format, box_size)
        if cached
        else render(text, image_format, box_size)
    )
    return Response(image, mimetype=_MIMETYPES[image_format], headers=headers or {})
