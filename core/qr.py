"""QR codes for what donors show on their phones: certificates, check-in codes, benefit codes.

One place decides the symbol (error correction M, so a scratched screen still scans) and the two
formats the apps ask for; codes that rotate are never cached by a browser or proxy.
"""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from flask import Response

PNG = "png"
SVG = "svg"
NO_STORE = {"Cache-Control": "no-store"}
_MIMETYPES = {PNG: "image/png", SVG: "image/svg+xml"}


def qr_symbol(text: str, box_size: int = 6) -> qrcode.QRCode:
    symbol = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=4
    )
    symbol.add_data(text)
    symbol.make(fit=True)
    return symbol


def qr_response(
    text: str, image_format: str, *, box_size: int = 6, headers: dict[str, str] | None = None
) -> Response:
    """`text` as a PNG or SVG QR code."""
    symbol = qr_symbol(text, box_size)
    buffer = io.BytesIO()
    if image_format == SVG:
        symbol.make_image(image_factory=qrcode.image.svg.SvgPathImage).save(buffer)
    else:
        symbol.make_image().save(buffer, format="PNG")
    return Response(buffer.getvalue(), mimetype=_MIMETYPES[image_format], headers=headers or {})
