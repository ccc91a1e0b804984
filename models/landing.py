"""Landing that replaces what a read covers: a GA4 day with its report metadata; an email's rebuilt sends."""

from __future__ import annotations



