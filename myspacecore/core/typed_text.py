"""What a person types into a code or PIN field, made comparable with what we stored.

Phones and Japanese IMEs give full-width digits (４８２９), ideographic spaces and, for "-",
a hyphen-like mark or the long-vowel mark (ー). Every field that takes a code, a token or a
PIN accepts them the same way, so this is the one place that says how.
"""

from __future__ import annotations

import unicodedata

# Hyphen-like marks, including the long-vowel mark an IME produces for "-" (and its
# half-width form). Whitespace of any width is dropped separately.
SEPARATORS = dict.fromkeys(map(ord, "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff70"))


def typed_compact(raw: str) -> str:
    """NFKC (full-width becomes ASCII), then separators and whitespace removed. Does not validate."""
    return "".join(unicodedata.normalize("NFKC", raw).translate(SEPARATORS).split())
