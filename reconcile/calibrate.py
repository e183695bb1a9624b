"""Label-free calibration of linkage decisions: Fellegi-Sunter m/u probabilities by EM, one-to-one assignment.

Where no threshold is configured and no labels exist, the decision is learnt from the data itself with a
Fellegi-Sunter model of the blocked candidate pairs (Splink's comparison levels and u sampling, fastLink's EM over
distinct patterns):

* each field's similarity in [0, 1] is discretised into comparison levels (`similarity_levels`: else, >= 0.7,
  >= 0.88, >= 0.92, exact -- the cut points of Splink's default NameComparison; a missing value is no evidence);
  fields that restate one fact (a practice's phone, address and name move together) are folded into one
  comparison (`group_levels`), because the model multiplies the comparisons' evidence as if independent;
* u = P(level | non-match) is the level frequency among random record pairs (`random_pairs`,
  `level_frequencies`), as Splink estimates it; random pairs are almost all non-matches;
* blocking changes who the non-matches are: only the share q = P(candidate | non-match) of random pairs (the
  fraction of them a blocking rule would have selected) reaches the candidates, so the non-match likelihood of a
  candidate's pattern is u / q. That is exact for every pattern that by itself satisfies a blocking rule and
  errs toward non-match for the others. Without it EM explains every candidate as a match (its match share runs
  to 1 as soon as blocked non-matches agree on the block key, e.g. every provider of one practice);
* m = P(level | match) and the match share of the candidates are fitted by expectation-maximisation over the
  candidate pairs (`fit_fellegi_sunter`), collapsed to distinct comparison patterns first (a few thousand
  patterns instead of millions of pairs, so EM costs milliseconds);
* a pair links when its posterior log-odds are >= 0 (match probability >= 0.5, the Bayes decision that minimises
  expected errors under the model); where each record has at most one counterpart (one directory against
  another) `one_to_one` keeps the most probable pair per record. `calibrate_links` does the model part.

When q is unknown, `calibrate_links` falls back to refitting u on the candidates too (started from the random-pair
u, which anchors which class is the non-match one). `otsu_threshold` is the older cut of a single score's
histogram, kept for callers that have only one score. Pure numpy: no I/O, no network, no global state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LEVEL_CUTS = (0.7, 0.88, 0.92)  # Splink's default NameComparison cut points (plus an exact level on top)
MISSING = -1  # level of a pair where either side has no value: contributes no evidence either way


@dataclass(frozen=True)
class FellegiSunter:
    """A fitted Fellegi-Sunter model: per-field m and u over comparison levels and the candidate match share."""

    m: tuple[np.ndarray, ...]
    u: tuple[np.ndarray, ...]
    prior: float
    iterations: int
    converged: bool
    patterns: int
    offset: float = 0.0  # log P(candidate | non-match) when u is the random-pair profile (see fit_fellegi_sunter)


def similarity_levels(sim: np.ndarray, present: np.ndarray | None = None, cuts: Sequence[float] = LEVEL_CUTS,
                      exact: float = 1.0 - 1e-9) -> np.ndarray:
    """Discretise similarities into levels 0 (below cuts[0]) .. len(cuts) (>= cuts[-1]), len(cuts)+1 exact; -1 missing.

    Levels rather than raw scores keep the model free of any shape assumption about the similarity distribution.
    """
    sim = np.asarray(sim, dtype=np.float64)
    levels = np.searchsorted(np.asarray(cuts, dtype=np.float64), sim, side="right").astype(np.int8)
    levels[sim >= exact] = len(cuts) + 1
    levels[np.isnan(sim)] = MISSING
    if present is not None:
        levels[~np.asarray(present, dtype=bool)] = MISSING
    return levels


def level_count(cuts: Sequence[float] = LEVEL_CUTS) -> int:
    """Number of comparison levels `similarity_levels` produces for these cuts (missing excluded)."""
    return len(cuts) + 2


def group_levels(levels: np.ndarray, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """Fold columns of a (pairs x fields) level matrix into one comparison per group: the best level of its members.

    For fields that are evidence of one fact (phone, address and practice name all say "same practice"): as
    separate comparisons their agreement would be counted several times over. Missing only if all members are.
    """
    levels = np.asarray(levels)
    if not groups:
        return levels[:, :0]
    return np.column_stack([levels[:, list(g)].max(axis=1) for g in groups]).astype(np.int8)


def random_pairs(n_left: int, n_right: int | None, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of `size` random record pairs (left x right, or distinct rows of one table when n_right is None).

    Used to estimate u and q: a random pair is a non-match with probability ~ 1 - 1/n, the way Splink samples u.
    """
    rng = np.random.default_rng(seed)
    if n_right is None:
        if n_left < 2:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        left = rng.integers(0, n_left, size)
        right = (left + rng.integers(1, n_left, size)) % n_left  # never the same row
        return left, right
    if n_left == 0 or n_right == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return rng.integers(0, n_left, size), rng.integers(0, n_right, size)


def level_frequencies(levels: np.ndarray, n_levels: Sequence[int], pseudo: float = 1.0) -> tuple[np.ndarray, ...]:
    """Per-field level distribution of a (pairs x fields) level matrix, missing ignored, with additive smoothing.

    The smoothing keeps a level never seen among random pairs (an exact identifier) at a small, non-zero u.
    """
    levels = np.asarray(levels)
    out = []
    for k, n in enumerate(n_levels):
        column = levels[:, k] if levels.size else np.zeros(0, dtype=np.int8)
        counts = np.bincount(column[column >= 0].astype(np.int64), minlength=n)[:n].astype(np.float64) + pseudo
        out.append(counts / counts.sum())
    return tuple(out)


def _pattern_table(levels: np.ndarray, n_levels: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct comparison patterns, their counts, and each pair's pattern index (mixed-radix code, one np.unique)."""
    levels = np.asarray(levels)
    if math.prod(n + 1 for n in n_levels) >= 2**62:  # too many comparisons for one int64 code: compare rows
        _, first, inverse, counts = np.unique(levels, axis=0, return_index=True, return_inverse=True,
                                              return_counts=True)
        return levels[first], counts.astype(np.float64), inverse.reshape(-1)
    code = np.zeros(len(levels), dtype=np.int64)
    for k, n in enumerate(n_levels):
        code = code * (n + 1) + (levels[:, k].astype(np.int64) + 1)  # +1: missing (-1) becomes digit 0
    _, first, inverse, counts = np.unique(code, return_index=True, return_inverse=True, return_counts=True)
    return levels[first], counts.astype(np.float64), inverse.reshape(-1)


def _log_odds(patterns: np.ndarray, m: Sequence[np.ndarray], u: Sequence[np.ndarray], prior: float,
              offset: float = 0.0) -> np.ndarray:
    """Posterior log-odds of a match per pattern: logit(prior) + offset + sum of per-field log(m/u); missing adds 0."""
    prior = min(max(prior, 1e-12), 1 - 1e-12)
    total = np.full(len(patterns), np.log(prior / (1 - prior)) + offset)
    for k, (mk, uk) in enumerate(zip(m, u)):
        table = np.append(np.log(mk) - np.log(uk), 0.0)  # index -1 (missing) reads the appended 0
        total += table[patterns[:, k]]
    return total


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """Numerically safe logistic function."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _m_step(patterns: np.ndarray, weight: np.ndarray, n_levels: Sequence[int], pseudo: float) -> tuple[np.ndarray, ...]:
    """Per-field level distribution weighted by each pattern's expected match count (missing ignored)."""
    out = []
    for k, n in enumerate(n_levels):
        column = patterns[:, k]
        valid = column >= 0
        counts = np.bincount(column[valid].astype(np.int64), weights=weight[valid], minlength=n)[:n] + pseudo
        out.append(counts / counts.sum())
    return tuple(out)


def _initial_m(n: int) -> np.ndarray:
    """Starting m: most matches agree exactly, fewer at each lower level (geometric, ratio 4)."""
    m = 4.0 ** np.arange(n)
    return m / m.sum()


def _mean_level(profile: Sequence[np.ndarray]) -> float:
    """Expected comparison level summed over comparisons: how much a class agrees."""
    return float(sum((p * np.arange(len(p))).sum() for p in profile))


def fit_fellegi_sunter(levels: np.ndarray, n_levels: Sequence[int], u: Sequence[np.ndarray] | None = None,
                       prior: float = 0.5, max_iter: int = 200, tol: float = 1e-7,
                       pseudo: float = 0.5, fix_u: bool = False, candidate_share: float | None = None,
                       m: Sequence[np.ndarray] | None = None) -> FellegiSunter:
    """Fit m (and u unless fixed) and the match share of candidate pairs by EM over their comparison levels.

    `levels` is a (pairs x comparisons) int matrix from `similarity_levels`/`group_levels`. `u` is the random-pair
    non-match profile (without it, one that mostly disagrees). With fix_u it stays fixed and `candidate_share`
    (P(candidate | non-match), see the module docstring) renormalises it onto the candidates; otherwise u is only
    the starting point and is refitted on the candidates. `m` is the starting match profile (default: mostly
    exact agreement). Stops when no parameter moves by more than `tol`.
    """
    levels = np.asarray(levels)
    if levels.ndim != 2 or levels.shape[1] != len(n_levels):
        raise ValueError(f"levels must be (pairs x {len(n_levels)}), got shape {levels.shape}")
    if len(levels) and ((levels < MISSING).any() or (levels.max(axis=0) >= np.asarray(n_levels)).any()):
        raise ValueError(f"levels must lie in -1 (missing) .. n_levels-1 = {[n - 1 for n in n_levels]}")
    if candidate_share is not None and not 0.0 < candidate_share <= 1.0:
        raise ValueError(f"candidate_share must be in (0, 1], got {candidate_share}")
    fix_u = fix_u and u is not None
    offset = float(np.log(candidate_share)) if fix_u and candidate_share else 0.0
    m = tuple(np.asarray(x, dtype=np.float64) for x in m) if m is not None else tuple(_initial_m(n) for n in n_levels)
    u_now = (tuple(np.asarray(x, dtype=np.float64) for x in u) if u is not None
             else tuple(_initial_m(n)[::-1] for n in n_levels))
    if len(levels) == 0:
        return FellegiSunter(m=m, u=u_now, prior=prior, iterations=0, converged=True, patterns=0)
    patterns, counts, _ = _pattern_table(levels, n_levels)
    total = counts.sum()
    converged = False
    iteration = 0
    for iteration in range(1, max_iter + 1):
        post = _sigmoid(_log_odds(patterns, m, u_now, prior, offset))
        match_weight = counts * post
        new_prior = float(match_weight.sum() / total)
        new_m = _m_step(patterns, match_weight, n_levels, pseudo)
        new_u = u_now if fix_u else _m_step(patterns, counts - match_weight, n_levels, pseudo)
        delta = max([abs(new_prior - prior)] + [float(np.abs(a - b).max()) for a, b in zip(new_m + new_u, m + u_now)])
        m, u_now, prior = new_m, new_u, new_prior
        if delta < tol:
            converged = True
            break
    if _mean_level(m) < _mean_level(u_now):  # the match class is the one that agrees more: undo a label switch
        m, u_now, prior = u_now, m, 1.0 - prior
    return FellegiSunter(m=m, u=u_now, prior=prior, iterations=iteration, converged=converged, patterns=len(patterns),
                         offset=offset)


def match_weights(levels: np.ndarray, model: FellegiSunter) -> np.ndarray:
    """Per-pair posterior log-odds of a match (natural log) under the fitted model; > 0 means more likely a match."""
    levels = np.asarray(levels)
    if len(levels) == 0:
        return np.zeros(0)
    patterns, _, inverse = _pattern_table(levels, [len(x) for x in model.m])
    return _log_odds(patterns, model.m, model.u, model.prior, model.offset)[inverse]


def match_probability(levels: np.ndarray, model: FellegiSunter) -> np.ndarray:
    """Per-pair posterior match probability under the fitted model (link where >= 0.5)."""
    return _sigmoid(match_weights(levels, model))


def calibrate_links(candidate_levels: np.ndarray, random_levels: np.ndarray, n_levels: Sequence[int],
                    candidate_share: float | None = None) -> tuple[np.ndarray, FellegiSunter]:
    """Fit the model for a linker without a configured threshold and score its candidate pairs.

    u from the random pairs' levels; `candidate_share` = the fraction of those random pairs a blocking rule would
    have selected (q in the module docstring); without it u is refitted on the candidates. Returns (posterior
    log-odds of a match per candidate pair, fitted model): link where >= 0 (probability >= 0.5), and rank by
    log-odds rather than probability, which saturates at 1.0 for strong pairs.
    """
    u = level_frequencies(random_levels, n_levels)
    if candidate_share is not None:
        model = fit_fellegi_sunter(candidate_levels, n_levels, u=u, fix_u=True, candidate_share=candidate_share)
    else:
        model = fit_fellegi_sunter(candidate_levels, n_levels, u=u)
    return match_weights(candidate_levels, model), model


def one_to_one(left: Sequence, right: Sequence, score: np.ndarray, threshold: float) -> np.ndarray:
    """Greedy one-to-one assignment: best pair first, each left and right record used at most once; a keep mask.

    For linking two sources in which each entity appears at most once (two directories, FEBRL4's files A and B).
    """
    score = np.asarray(score, dtype=np.float64)
    keep = np.zeros(len(score), dtype=bool)
    if len(score) == 0:
        return keep
    candidates = np.flatnonzero(score >= threshold)
    order = candidates[np.argsort(-score[candidates], kind="stable")]
    _, left_codes = np.unique(np.asarray(left, dtype=object)[order].astype(str), return_inverse=True)
    _, right_codes = np.unique(np.asarray(right, dtype=object)[order].astype(str), return_inverse=True)
    used_left = np.zeros(int(left_codes.max(initial=-1)) + 1, dtype=bool)
    used_right = np.zeros(int(right_codes.max(initial=-1)) + 1, dtype=bool)
    for i, a, b in zip(order.tolist(), left_codes.tolist(), right_codes.tolist()):
        if used_left[a] or used_right[b]:
            continue
        used_left[a] = used_right[b] = True
        keep[i] = True
    return keep


def otsu_threshold(scores: np.ndarray, bins: int = 100, floor: float = 0.5) -> float:
    """Unsupervised threshold between the non-match and match modes of a score distribution (Otsu's method).

    Candidate pairs after blocking are a mixture of two populations; the cut that maximizes the between-class
    variance separates them without labels. Never below `floor`.
    """
    if len(scores) == 0:
        return floor
    hist, edges = np.histogram(np.clip(scores, 0, 1), bins=bins, range=(0.0, 1.0))
    centers = (edges[:-1] + edges[1:]) / 2
    weight = np.cumsum(hist)
    total = weight[-1]
    mean_cum = np.cumsum(hist * centers)
    mean_all = mean_cum[-1]
    w0 = weight[:-1]
    w1 = total - w0
    valid = (w0 > 0) & (w1 > 0)
    between = np.zeros_like(w0, dtype=float)
    m0 = np.divide(mean_cum[:-1], w0, out=np.zeros_like(between), where=valid)
    m1 = np.divide(mean_all - mean_cum[:-1], w1, out=np.zeros_like(between), where=valid)
    between[valid] = w0[valid] * w1[valid] * (m0[valid] - m1[valid]) ** 2
    return float(max(floor, edges[1:-1][int(np.argmax(between))]))
