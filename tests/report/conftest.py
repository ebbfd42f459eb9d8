"""Report tests: one fixture snapshot, the pack built once per session and parsed."""
from __future__ import annotations

import pytest

from tests.report.helpers import (COMPASS_NAT, COMPASS_TRENDS, FSQ, GOALS, NEET_LA, NEET_RISK, READINESS, RECON,
                                  RETURN_STATUS, Built)


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Built:
    root = tmp_path_factory.mktemp("report")
    return Built(root, extra={"goal_progress_published": GOALS, "goal_progress": GOALS,
                              "neet_risk": NEET_RISK, "return_status": RETURN_STATUS,
                              "fsq_construct_scores_published": FSQ, "fsq_destination_rates_published": READINESS,
                              "compass_trust_vs_national": COMPASS_NAT, "compass_benchmark_trends": COMPASS_TRENDS,
                              "neet_not_known_published": NEET_LA,
                              "destination_reconciliation_rates_published": RECON})


@pytest.fixture(scope="session")
def built_unpublished(tmp_path_factory) -> Built:
    """Only the unsuppressed mart in the snapshot: the pack must suppress by itself."""
    return Built(tmp_path_factory.mktemp("report_unpub"), published=False)
