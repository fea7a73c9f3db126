"""Verify: nothing leaves the answerer that the records do not say verbatim."""

from __future__ import annotations

from assistant.answering.records import Citation


def verified(citations: list[Citation]) -> list[Citation]:
    """Only quotes that are non-empty verbatim substrings of their passage's text leave the answerer."""
    return [c for c in citations if c.quote and c.quote in c.text]
