"""Metrics checked against values worked out by hand."""

from __future__ import annotations

import pytest

from app.evals.metrics import pairwise_accuracy, pearson, quadratic_weighted_kappa, spearman, stdev


def test_qwk_perfect_and_reversed() -> None:
    assert quadratic_weighted_kappa([1, 2, 3, 4], [1, 2, 3, 4]) == pytest.approx(1.0)
    assert quadratic_weighted_kappa([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)


def test_qwk_hand_computed() -> None:
    # a=[1,2,3], b=[1,3,3]: observed disagreement weight 1/9 over 3 items; expected from marginals.
    a, b = [1, 2, 3], [1, 3, 3]
    obs = (1 / 9) / 3
    exp = 0.0
    for x in a:
        for y in b:
            exp += ((x - y) ** 2 / 9) / 9
    assert quadratic_weighted_kappa(a, b) == pytest.approx(1 - obs / exp)


def test_qwk_undefined_and_bad_input() -> None:
    assert quadratic_weighted_kappa([2], [2]) is None
    assert quadratic_weighted_kappa([2, 2], [2, 2]) is None
    with pytest.raises(ValueError):
        quadratic_weighted_kappa([0, 1], [1, 1])


def test_spearman_with_ties() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ranks of [1, 2, 2, 3] are [1, 2.5, 2.5, 4]
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(pearson([1, 2.5, 2.5, 4], [1, 2, 3, 4]))
    assert spearman([1, 1], [1, 2]) is None


def test_pairwise_and_stdev() -> None:
    assert pairwise_accuracy([(3, 1), (2, 2), (1, 3)]) == pytest.approx(1 / 3)
    assert pairwise_accuracy([]) is None
    assert stdev([2, 4]) == pytest.approx(1.0)
    assert stdev([3]) == 0.0
