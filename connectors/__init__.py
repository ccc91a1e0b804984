"""Every outside system, in and out: one package per source; no database here."""
