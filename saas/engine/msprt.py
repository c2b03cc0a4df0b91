r"""The statistics behind A/B decisions: a mixture sequential probability ratio test (mSPRT) on
two proportions, whose p-value stays valid however often it is looked at.

Why not a fixed-horizon z-test: the A/B panel is watched continuously and the job evaluates every
few minutes. A z-test checked every 100 sends per arm "finds" a winner between two identical
versions about 40% of the time. The mSPRT (Johari, Koomen, Pekelis, Walsh, "Peeking at A/B Tests:
Why It Matters, and What to Do About It", KDD 2017) gives an *always-valid* p-value: the chance
that it ever drops below alpha while A and B are equal is at most alpha, at any stopping time.

The test (normal approximation, section 4 of the paper)
-------------------------------------------------------
Version A has n_A sends with x_A conversions, version B n_B and x_B. The difference of rates
theta_hat = x_B/n_B - x_A/n_A is approximately normal with mean theta (the true difference) and
variance s^2 = sigma^2 (1/n_A + 1/n_B). H0 is theta = 0. Mixing the alternative over
theta ~ N(0, tau^2), the likelihood ratio of the mixture against H0 is

    Lambda = sqrt(s^2 / (s^2 + tau^2)) * exp( tau^2 theta_hat^2 / (2 s^2 (s^2 + tau^2)) ).

With n sends per version (n_A = n_B = n) write V = 2 sigma^2 (the variance of one pair's
difference, s^2 = V/n) and this is the paper's

    Lambda_n = sqrt(V / (V + n tau^2)) * exp( n^2 tau^2 theta_hat^2 / (2 V (V + n tau^2)) ).

With an uneven split (10..90%) we keep the s^2 form: n is then the effective number of pairs
n = V / s^2 = 2 n_A n_B / (n_A + n_B).

The always-valid p-value is p_n = min(p_{n-1}, 1 / Lambda_n), p_0 = 1. Under H0, Lambda_n is a
nonnegative martingale with mean 1, so by Ville's inequality P(sup_n Lambda_n >= 1/alpha) <= alpha:
declaring a winner the first time p_n <= alpha keeps false winners under alpha, checked every send
or every day alike.

Choices
-------
- V (the variance): sigma^2 = p_bar (1 - p_bar) with p_bar the pooled rate (x_A + x_B)/(n_A + n_B),
  the variance under H0, re-estimated at each look (the paper's plug-in). No conversion at all (or
  only conversions) gives V = 0 and Lambda = 1: nothing to tell apart.
- tau (the spread of effects we expect): tau = 0.02, an absolute difference of 2 percentage
  points. The mixture is most sensitive to differences around tau; 2 points is the size of
  difference email tests have (click rates of a few percent, open rates of 20-40% moving by a few
  points). A smaller tau waits longer for big effects; a larger one loses small effects.
- alpha = 0.05, and no decision before 100 sends per version (the normal approximation needs
  some conversions; p stays 1 until then).

Intervals: `wilson_interval` for each version's rate (95%), and `difference_interval`, the
always-valid 95% confidence sequence for theta (the thetas the mixture does not reject):
theta_hat +/- sqrt( 2 s^2 (s^2 + tau^2) / tau^2 * (log(1/alpha) + log(sqrt((s^2 + tau^2) / s^2))) ).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

ALPHA = 0.05
TAU = 0.02
MIN_SENDS = 100
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Look:
    """One evaluation of the test: the figures and the always-valid p-value after it."""

    n_a: int
    x_a: int
    n_b: int
    x_b: int
    p_value: float        # always-valid, after taking the minimum with the previous one
    likelihood_ratio: float
    decided: bool         # p_value <= alpha with enough sends
    leader: str | None    # the version with the higher rate (None when equal)

    @property
    def rate_a(self) -> float:
        return self.x_a / self.n_a if self.n_a else 0.0

    @property
    def rate_b(self) -> float:
        return self.x_b / self.n_b if self.n_b else 0.0


def likelihood_ratio(n_a: int, x_a: int, n_b: int, x_b: int, tau: float = TAU) -> float:
    """Lambda for the counts so far (1.0 when nothing distinguishes the versions yet)."""
    if n_a <= 0 or n_b <= 0:
        return 1.0
    pooled = (x_a + x_b) / (n_a + n_b)
    sigma2 = pooled * (1.0 - pooled)
    if sigma2 <= 0.0:
        return 1.0
    s2 = sigma2 * (1.0 / n_a + 1.0 / n_b)
    theta = x_b / n_b - x_a / n_a
    t2 = tau * tau
    log_lr = 0.5 * math.log(s2 / (s2 + t2)) + t2 * theta * theta / (2.0 * s2 * (s2 + t2))
    return math.exp(min(log_lr, 700.0))


def look(n_a: int, x_a: int, n_b: int, x_b: int, previous_p: float = 1.0, *,
         alpha: float = ALPHA, min_sends: int = MIN_SENDS, tau: float = TAU) -> Look:
    """Evaluate once: the always-valid p-value given the previous one, and whether to decide."""
    enough = n_a >= min_sends and n_b >= min_sends
    lr = likelihood_ratio(n_a, x_a, n_b, x_b, tau) if enough else 1.0
    p = min(previous_p, 1.0 / lr if lr > 0 else 1.0, 1.0)
    rate_a = x_a / n_a if n_a else 0.0
    rate_b = x_b / n_b if n_b else 0.0
    leader = None if rate_a == rate_b else ("A" if rate_a > rate_b else "B")
    return Look(n_a, x_a, n_b, x_b, p, lr, enough and p <= alpha and leader is not None, leader)


def wilson_interval(x: int, n: int, z: float = Z95) -> tuple[float, float]:
    """95% Wilson score interval for a rate (well-behaved near 0 and 1, unlike the Wald one)."""
    if n <= 0:
        return (0.0, 1.0)
    p = x / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def difference_interval(n_a: int, x_a: int, n_b: int, x_b: int, *, alpha: float = ALPHA,
                        tau: float = TAU) -> tuple[float, float] | None:
    """Always-valid confidence sequence for rate_B - rate_A (None before any variance)."""
    if n_a <= 0 or n_b <= 0:
        return None
    pooled = (x_a + x_b) / (n_a + n_b)
    sigma2 = pooled * (1.0 - pooled)
    if sigma2 <= 0.0:
        return None
    s2 = sigma2 * (1.0 / n_a + 1.0 / n_b)
    t2 = tau * tau
    theta = x_b / n_b - x_a / n_a
    half = math.sqrt(2.0 * s2 * (s2 + t2) / t2
                     * (math.log(1.0 / alpha) + 0.5 * math.log((s2 + t2) / s2)))
    return (theta - half, theta + half)
