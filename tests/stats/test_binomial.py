import pytest

from blinareg.stats import binomial_ci
from tests.stats.nonparametric_reference import assert_matches_r, reference


@pytest.mark.parametrize("method", ["exact", "wilson"])
@pytest.mark.parametrize("case", reference()["binomial"], ids=lambda c: f"{c['x']}/{c['n']}@{c['conf_level']}")
def test_equals_r_binom_test_and_prop_test(case, method):
    result = binomial_ci(case["x"], case["n"], conf_level=case["conf_level"], method=method)
    assert_matches_r([result.lower, result.upper], case[method], method)
    assert result.proportion == case["x"] / case["n"]
    assert result.method == method and result.conf_level == case["conf_level"]


@pytest.mark.parametrize(
    ("x", "n", "argument"), [(3, 2, "x"), (-1, 5, "x"), (1.5, 5, "x"), (0, 0, "n"), (True, 5, "x")]
)
def test_invalid_counts(x, n, argument):
    with pytest.raises(ValueError, match=f"^{argument}:"):
        binomial_ci(x, n)


def test_invalid_method():
    with pytest.raises(ValueError, match="^method:"):
        binomial_ci(1, 2, method="wald")
