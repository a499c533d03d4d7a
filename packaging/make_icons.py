"""Render resources/icons/finr1-studio.svg into the raster icons the installers need.

    python packaging/make_icons.py

Writes, beside the SVG: ``finr1-studio.png`` (256 px: Linux desktop entry, window icon),
``finr1-studio.ico`` (16-256 px: Windows executable and installer) and ``finr1-studio.icns``
(macOS bundle). Uses Qt's SVG renderer and image writers (offscreen, no display needed). Run it
after changing the SVG and commit the results; the build scripts only read them.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
SVG = ICONS / "finr1-studio.svg"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS entry types holding PNG data, by pixel size (the @2x types reuse the larger renders)
ICNS_TYPES = ((b"ic11", 32), (b"ic12", 64), (b"ic07", 128), (b"ic13", 256), (b"ic08", 256),
              (b"ic14", 512), (b"ic09", 512), (b"ic10", 1024))


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _application = QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        print(f"cannot render {SVG}", file=sys.stderr)
        return 1

    def render_png(size: int) -> bytes:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        buffer = QBuffer()
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "PNG")
        return bytes(buffer.data())

    (ICONS / "finr1-studio.png").write_bytes(render_png(256))
    (ICONS / "finr1-studio.ico").write_bytes(ico_file([(size, render_png(size)) for size in ICO_SIZES]))
    (ICONS / "finr1-studio.icns").write_bytes(icns_file([(kind, render_png(size))
                                                         for kind, size in ICNS_TYPES]))
    return 0


def ico_file(images: list[tuple[int, bytes]]) -> bytes:
    """A Windows .ico holding PNG-compressed images (Windows Vista and later read these)."""
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = len(header) + 16 * len(images)
    entries, blobs = b"", b""
    for size, png in images:
        dimension = 0 if size >= 256 else size  # 0 means 256 in an ICO directory entry
        entries += struct.pack("<BBBBHHII", dimension, dimension, 0, 0, 1, 32, len(png), offset)
        blobs += png
        offset += len(png)
    return header + entries + blobs


def icns_file(images: list[tuple[bytes, bytes]]) -> bytes:
    """A macOS .icns: typed entries of PNG data after an ``icns`` header with the total length."""
    body = b"".join(kind + struct.pack(">I", 8 + len(png)) + png for kind, png in images)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


if __name__ == "__main__":
    raise SystemExit(main())
