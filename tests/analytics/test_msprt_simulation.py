"""A statistical test of the statistical test: seeded, pure Python, a few seconds.

1,000 A/A experiments (both versions convert at 5%) are looked at after every 50 sends per
version up to 5,000: the mSPRT may declare a (false) winner in at most 5% of them. The same
monitoring with a fixed-horizon z-test is printed beside it, to show what peeking does to it.
1,000 experiments at 5% versus 7% must find B the winner in most runs.
"""

from __future__ import annotations

import math
import random

from saas.engine import msprt

RUNS = 1000
BATCH = 50
MAX_SENDS = 5000


def conversions_per_batch(rng: random.Random, rate: float, batch: int = BATCH,
                          total: int = MAX_SENDS) -> list[int]:
    """Conversions in each batch of `batch` sends: Bernoulli(rate) sends, drawn as geometric
    gaps between conversions (exact, and ~20x fewer random numbers than one per send)."""
    counts = [0] * (total // batch)
    log_q = math.log1p(-rate)
    position = -1
    while True:
        position += 1 + int(math.log(1.0 - rng.random()) / log_q)
        if position >= total:
            return counts
        counts[position // batch] += 1


def z_test_significant(n: int, x_a: int, x_b: int) -> bool:
    """The fixed-horizon two-proportion z-test (pooled), two-sided at 5%."""
    pooled = (x_a + x_b) / (2 * n)
    if pooled in (0.0, 1.0):
        return False
    z = (x_b - x_a) / n / math.sqrt(pooled * (1 - pooled) * 2 / n)
    return abs(z) >= 1.959963984540054


def monitor(rate_a: float, rate_b: float, seed: int) -> tuple[float, float, float]:
    """(share of runs where the mSPRT declared a winner, share where it declared B, share where
    a z-test checked at every look would have declared one)."""
    rng = random.Random(seed)
    any_winner = b_winner = peeking_z = 0
    for _ in range(RUNS):
        batches_a = conversions_per_batch(rng, rate_a)
        batches_b = conversions_per_batch(rng, rate_b)
        x_a = x_b = 0
        p_value = 1.0
        decided = z_fired = False
        for index, (a, b) in enumerate(zip(batches_a, batches_b, strict=True)):
            x_a += a
            x_b += b
            n = (index + 1) * BATCH
            if not decided:
                result = msprt.look(n, x_a, n, x_b, p_value)
                p_value = result.p_value
                if result.decided:
                    decided = True
                    any_winner += 1
                    b_winner += result.leader == "B"
            if not z_fired and n >= msprt.MIN_SENDS and z_test_significant(n, x_a, x_b):
                z_fired = True
                peeking_z += 1
            if decided and z_fired:
                break
    return any_winner / RUNS, b_winner / RUNS, peeking_z / RUNS


def test_aa_experiments_rarely_declare_a_winner_and_a_real_difference_is_found(capsys):
    false_winners, _, peeking = monitor(0.05, 0.05, seed=20261123)
    found, found_b, _ = monitor(0.05, 0.07, seed=7)
    with capsys.disabled():
        print(f"\nmSPRT, {RUNS} runs, a look every {BATCH} sends per version up to {MAX_SENDS}:"
              f"\n  A/A at 5%: false winner in {false_winners:.1%} of runs "
              f"(a z-test checked at every look: {peeking:.1%})"
              f"\n  5% vs 7%: winner found in {found:.1%} of runs, B in {found_b:.1%}")
    assert false_winners <= 0.05
    assert peeking > 0.2  # the problem the mSPRT solves is real in this very simulation
    assert found_b >= 0.8 and found_b == found


def test_likelihood_ratio_matches_the_papers_balanced_formula():
    """With n sends per version, Lambda equals the paper's form with V = 2 p(1-p)."""
    n, x_a, x_b, tau = 400, 20, 34, msprt.TAU
    pooled = (x_a + x_b) / (2 * n)
    v = 2 * pooled * (1 - pooled)
    theta = (x_b - x_a) / n
    expected = math.sqrt(v / (v + n * tau ** 2)) * math.exp(
        n ** 2 * tau ** 2 * theta ** 2 / (2 * v * (v + n * tau ** 2)))
    assert math.isclose(msprt.likelihood_ratio(n, x_a, n, x_b), expected, rel_tol=1e-12)


def test_p_value_never_rises_and_waits_for_the_minimum_sends():
    early = msprt.look(99, 0, 99, 30)
    assert early.p_value == 1.0 and not early.decided  # a huge gap, but under 100 sends
    strong = msprt.look(500, 10, 500, 60)
    assert strong.decided and strong.leader == "B" and strong.p_value < 0.05
    later = msprt.look(600, 40, 600, 40, previous_p=strong.p_value)
    assert later.p_value == strong.p_value  # the always-valid p-value is a running minimum


def test_intervals():
    low, high = msprt.wilson_interval(10, 200)
    assert 0.02 < low < 0.05 < high < 0.09
    assert msprt.wilson_interval(0, 0) == (0.0, 1.0)
    low, high = msprt.difference_interval(1000, 50, 1000, 70)
    assert low < 0.02 < high
    assert msprt.difference_interval(100, 0, 100, 0) is None


def test_an_uneven_split_keeps_false_winners_under_alpha(capsys):
    """30% / 70%: looks after every 30 + 70 sends, up to 3,000 + 7,000."""
    rng = random.Random(30)
    false_winners = 0
    for _ in range(RUNS):
        batches_a = conversions_per_batch(rng, 0.05, 30, 3000)
        batches_b = conversions_per_batch(rng, 0.05, 70, 7000)
        x_a = x_b = 0
        p_value = 1.0
        for index, (a, b) in enumerate(zip(batches_a, batches_b, strict=True)):
            x_a += a
            x_b += b
            result = msprt.look(30 * (index + 1), x_a, 70 * (index + 1), x_b, p_value)
            p_value = result.p_value
            if result.decided:
                false_winners += 1
                break
    with capsys.disabled():
        print(f"\n  A/A at 5% with a 30/70 split: false winner in {false_winners / RUNS:.1%}")
    assert false_winners / RUNS <= 0.05
