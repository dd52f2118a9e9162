"""The fields every rule result shares: the decision in words, its published source, and the
UNCONFIRMED rules it used.

The result types are keyword-only dataclasses, so these shared fields can live in one base class while
each result still names its own fields first when it is built.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Explained", "RuleResult"]


@dataclass(frozen=True, kw_only=True)
class Explained:
    """A rule's answer with the reason in words and the source it follows (clinical-rules.md)."""

    reason: str
    source: str


@dataclass(frozen=True, kw_only=True)
class RuleResult(Explained):
    """An `Explained` answer that also lists the UNCONFIRMED rules it used (render with ``rules.notes``)."""

    unconfirmed_rules: tuple[str, ...]
