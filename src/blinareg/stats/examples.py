"""The small data set of the estimators' docstring examples: 21 subjects in two groups.

TIME: follow-up; EVENT: 0 = censored, 1 = event; CAUSE: the same exits with competing causes,
0 = censored, 1 = relapse, 2 = non-relapse mortality; GROUP: 0 or 1.
"""

from __future__ import annotations

__all__ = ["TIME", "EVENT", "CAUSE", "GROUP"]

TIME = (6, 6, 6, 7, 10, 13, 16, 22, 23, 6, 9, 10, 11, 17, 19, 20, 25, 32, 32, 34, 35)
EVENT = (1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
CAUSE = (1, 2, 1, 1, 2, 1, 1, 2, 1, 0, 0, 0, 1, 0, 2, 0, 0, 0, 1, 0, 0)
GROUP = (0, 1, 0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1)
