"""QR codes of redemption codes, drawn on the server: the page needs no script, and the
Content-Security-Policy already lets images come as data: URIs."""

from __future__ import annotations

import segno


def qr_data_uri(text: str) -> str:
    """An SVG image of `text` as a QR code, scannable at a counter from a phone screen."""
    return segno.make(text, error="m").svg_data_uri(scale=6, border=4, dark="#000", light="#fff")
