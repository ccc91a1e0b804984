"""Personal data out of free text (survey comments): addresses, phone numbers, URL query strings."""

from __future__ import annotations

import re

_URL = r"(?:https?://|www\.)[^\s<>\"']+"
_EMAIL = r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}"
_PHONE = r"(?<![\w+.,])\+?[\d(][\d ()\-]*\d"  # 7+ digits, checked by redact
_PII = re.compile(f"(?P<url>{_URL})|(?P<email>{_EMAIL})|(?P<phone>{_PHONE})", re.IGNORECASE)
_EMAIL_ONLY = re.compile(_EMAIL, re.IGNORECASE)
_DATES_IN_TEXT = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{2}-\d{2}-\d{4}\b")  # not phone numbers
_URL_TAIL = ".,;:!?)]}'\""


def strip_pii(text: str) -> str:
    """`text` without personal data: email addresses → "[email]", phone numbers (7+ digits with an optional
    +, spaces, dashes and parentheses) → "[phone]", URLs without their query string and fragment;
    whitespace collapsed to single spaces. ISO dates (2026-09-14) are not phone numbers."""
    return " ".join(redact(text, phones=True).split())


def redact(text: str, *, phones: bool) -> str:
    def replace(match: re.Match[str]) -> str:
        found = match.group()
        if match.group("url") is not None:
            url = found.rstrip(_URL_TAIL)
            tail = found[len(url):]
            url = url.split("?", 1)[0].split("#", 1)[0]
            return _EMAIL_ONLY.sub("[email]", url) + tail
        if match.group("email") is not None:
            return "[email]"
        digits = sum(c.isdigit() for c in _DATES_IN_TEXT.sub("", found))
        return "[phone]" if phones and digits >= 7 else found

    return _PII.sub(replace, text)
