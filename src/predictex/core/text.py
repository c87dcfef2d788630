"""Strict reading of untrusted text: the one place that says what a number and what a space are on the
wire, for every surface (HTTP headers and query parameters, signed timestamps, bearer tokens, FIX
fields, JSON strings).

Python's own helpers are Unicode-aware, which is wrong at a protocol edge: `"²³".isdigit()` is True
and then `int("²³")` raises; `int("\u0661\u0662")` and `int("\uff11\uff12")` (Arabic-Indic and
full-width digits) are 12;
`int(" 12 ")`, `int("+12")` and `int("1_2")` succeed; `str.strip()` and `str.split()` remove
no-break, em and ideographic spaces. On the wire a digit is one of the ten ASCII digits and the only
spaces are SP and HTAB (RFC 9110 §5.6.3), so everything here accepts exactly those and nothing else:
a caller gets None (or False) and answers with its own clear refusal, never an exception.
"""

from __future__ import annotations

from typing import Final

HTTP_WHITESPACE: Final = " \t"  # RFC 9110 OWS: SP and HTAB, nothing else


def is_ascii_digits(text: str | bytes) -> bool:
    """Whether `text` is one or more ASCII digits 0-9 (no sign, space, underscore or other script)."""
    # bytes.isdigit() knows only ASCII; among ASCII characters str.isdigit() is true for 0-9 alone
    return text.isdigit() if isinstance(text, bytes) else text.isascii() and text.isdigit()


def ascii_int(text: str | bytes, digits_max: int = 18) -> int | None:
    """The non-negative integer written as 1 to `digits_max` ASCII digits, or None for anything else
    (empty, too long, a sign, a space, an underscore, a digit of another script)."""
    if len(text) > digits_max or not is_ascii_digits(text):
        return None
    return int(text)


def strip_http_whitespace(text: str) -> str:
    """`text` without leading and trailing SP and HTAB (and only those: a no-break space stays, and
    whatever reads the value next refuses it)."""
    return text.strip(HTTP_WHITESPACE)


def has_non_ascii_space(text: str) -> bool:
    """Whether `text` holds a space or line break other than ASCII's (U+0085, U+00A0, U+2000-U+200A,
    U+2028, U+2029, U+3000...): such a character inside a name, an email or a key is a mistake or a
    disguise, and is refused rather than trimmed."""
    return any(char.isspace() and not char.isascii() for char in text)


def shown(text: str, length_max: int = 64) -> str:
    """Untrusted text quoted for an error message: cut to `length_max` characters, non-ASCII escaped
    (so a refusal names the exact character that was wrong, e.g. '\\xb2' for a superscript two)."""
    return ascii(text[:length_max])
