"""Agreement metrics between a grader and human labels. Plain Python, no SciPy."""

from __future__ import annotations

import math
from collections.abc import Sequence


def quadratic_weighted_kappa(a: Sequence[int], b: Sequence[int], low: int = 1, high: int = 4) -> float | None:
    """Cohen's kappa with quadratic weights for two raters on an integer scale [low, high].

    Returns None when it is undefined (fewer than two items, or no variance in the expected matrix).
    """
    if len(a) != len(b):
        raise ValueError("rating lists differ in length")
    if len(a) < 2:
        return None
    k = high - low + 1
    observed = [[0.0] * k for _ in range(k)]
    for x, y in zip(a, b, strict=True):
        if not (low <= x <= high and low <= y <= high):
            raise ValueError(f"rating out of range [{low}, {high}]: {x}, {y}")
        observed[x - low][y - low] += 1
    n = float(len(a))
    hist_a = [sum(row) for row in observed]
    hist_b = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    num = den = 0.0
    for i in range(k):
        for j in range(k):
            w = ((i - j) ** 2) / ((k - 1) ** 2)
            num += w * observed[i][j] / n
            den += w * (hist_a[i] * hist_b[j]) / (n * n)
    if den == 0:
        return None
    return 1.0 - num / den


def _ranks(values: Sequence[float]) -> list[float]:
    """Average ranks (1-based), ties sharing the mean of their positions."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        avg = (i + j) / 2 + 1
        for m in range(i, j + 1):
            ranks[order[m]] = avg
        i = j + 1
    return ranks


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Pearson correlation; None when either side has no variance."""
    if len(x) != len(y):
        raise ValueError("lists differ in length")
    if len(x) < 2:
        return None
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman rank correlation (Pearson on average ranks)."""
    return pearson(_ranks(x), _ranks(y))


def pairwise_accuracy(pairs: Sequence[tuple[float, float]]) -> float | None:
    """Share of (should-be-higher, should-be-lower) pairs the grader orders strictly correctly."""
    if not pairs:
        return None
    return sum(1 for hi, lo in pairs if hi > lo) / len(pairs)


def stdev(values: Sequence[float]) -> float:
    """Population standard deviation (0 for fewer than two values)."""
    if len(values) < 2:
        return 0.0
    m = sum(values) / len(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / len(values))
