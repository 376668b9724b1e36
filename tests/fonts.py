"""The test font: pages and crops the tests draw need one real TrueType face."""

from __future__ import annotations

import pytest
from PIL import ImageFont

from ocrtool.synth.fonts import discover_fonts


def dejavu_sans(size: int) -> ImageFont.FreeTypeFont:
    """DejaVu Sans at `size` pixels; the test is skipped where it is not installed."""
    fonts = [f for f in discover_fonts() if f.name == "DejaVuSans"]
    if not fonts:
        pytest.skip("font DejaVuSans not installed")
    return ImageFont.truetype(fonts[0].path, size)
