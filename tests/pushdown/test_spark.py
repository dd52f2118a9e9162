"""The counting step as a PySpark DataFrame aggregation (local[2]; the same code on a cluster): counts
equal pandas exactly, estimates equal the in-memory estimators to 1e-12. One session for the module."""

from __future__ import annotations

import os
import shutil

import pytest

from blinareg.errors import UserError
from blinareg.pushdown.counting import CountRequest
from tests.pushdown.checks import (
    HAND_COUNTS_BY_ARM,
    REQUESTS,
    assert_counts_equal,
    assert_estimates_equal,
    hand_adtte,
    synthetic_adam,
    write_files,
)

pytestmark = [pytest.mark.spark, pytest.mark.slow]

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    if os.environ.get("CI"):
        pytest.fail("java is missing in CI: scripts/setup.sh installs a headless JRE", pytrace=False)
    pytest.skip("Spark needs Java (scripts/setup.sh installs it when run as root)", allow_module_level=True)


@pytest.fixture(scope="module")
def spark():
    from blinareg.pushdown.spark import local_session

    session = local_session("local[2]", app_name="blinareg-tests")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    adtte, adsl = synthetic_adam(150, seed=4)
    return adtte, adsl, write_files(tmp_path_factory.mktemp("adam"), adtte, adsl)


def test_counts_and_estimates_equal_in_memory(spark, synthetic):
    from blinareg.pushdown.spark import count_spark, read_table

    adtte, adsl, files = synthetic
    adtte_frame, adsl_frame = (read_table(spark, path) for path in files["parquet"])
    for request in (REQUESTS[1], REQUESTS[3]):  # an ADSL join; competing risks with strata
        counts = count_spark(request, adtte_frame, adsl_frame)
        assert_counts_equal(counts, request, adtte, adsl)
        assert_estimates_equal(counts, request, adtte, adsl)


def test_csv_files_and_the_hand_counted_table(spark, tmp_path):
    import pandas as pd

    from blinareg.pushdown.counting import sorted_counts
    from blinareg.pushdown.spark import count_spark, read_table

    adtte, adsl = hand_adtte()
    files = write_files(tmp_path, adtte, adsl)
    counts = count_spark(CountRequest("OS", by="ARM"), *(read_table(spark, path) for path in files["csv"]))
    pd.testing.assert_frame_equal(sorted_counts(counts.frame), HAND_COUNTS_BY_ARM)
    assert counts.left_out == 1
    with pytest.raises(UserError, match="no such file"):
        read_table(spark, tmp_path / "nope.parquet")
