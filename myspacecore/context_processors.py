"""Values every page needs: the remembered text size."""

from __future__ import annotations

TEXT_SIZES = ("small", "standard", "large")
TEXT_SIZE_COOKIE = "text_size"


def text_size_of(request) -> str:
    size = request.COOKIES.get(TEXT_SIZE_COOKIE, "standard")
    return size if size in TEXT_SIZES else "standard"


def site(request) -> dict:
    return {"text_size": text_size_of(request), "text_sizes": TEXT_SIZES}
