"""What the column-wise rules read: record frames by record type (a `records.Registry` or a plain dict)."""

from __future__ import annotations

from typing import Protocol

import pandas as pd

__all__ = ["Tables"]


class Tables(Protocol):
    """Record frames by record type name (``tables["blinatumomab_cycle"]``)."""

    def __getitem__(self, record_type: str, /) -> pd.DataFrame: ...
