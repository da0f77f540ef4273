"""The episode report's prior quantile: the inverse of the prior's truncated quantile function."""

import numpy as np
import pytest

from sim.analysis.calibrate import episode as E
from sim.analysis.calibrate import parameters as P
from sim.report.episode import prior_quantile


@pytest.mark.parametrize(
    "prior",
    [E.RESTRAINT.prior, E.BETA_DIRECTIVE.prior, P.detection_parameters(["reuters"])[0].prior],
)
def test_prior_quantile_inverts_the_truncated_ppf(prior):
    for u in (0.02, 0.3, 0.5, 0.97):
        assert prior_quantile(prior, float(prior.ppf(np.array([u]))[0])) == pytest.approx(
            u, abs=1e-6
        )
    assert prior_quantile(prior, prior.lo) == 0.0 and prior_quantile(prior, prior.hi) == 1.0
