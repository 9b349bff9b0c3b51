"""Reading our QR codes back the way a till scanner would: zxing-cpp on the PNG."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image


def decode_qr(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1, f"expected one code, found {len(results)}"
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode
    return results[0].text
