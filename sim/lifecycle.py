"""Lifecycle transitions: a Markov chain whose log-odds respond to drivers.

The scenario gives a base monthly transition matrix ``P`` over the stages
(DOMAIN §1; ARCHITECTURE decision 2). For a customer in stage ``i`` with
driver values ``x`` (satisfaction, share of wallet, price gap, contacts, wait,
complaints — each centred so zero is typical) the probability of moving to
``j != i`` is

    p_ij(x) = P_ij · exp(β_ij · x) / (P_ii + Σ_k P_ik · exp(β_ik · x)),

and staying takes the rest. Staying is the reference category of a
multinomial logit, so β_ij shifts the log-odds of ``i → j`` against staying.
With every β at zero the denominator is 1 and ``p_ij = P_ij`` exactly: the
model *is* the Markov chain, which the tests check against ``p0·Pᵗ`` and the
fundamental matrix ``(I − Q)⁻¹``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim import kernels
from sim.schema import DRIVERS, Lifecycle

__all__ = ["TransitionTable", "absorbing_chain_summary"]


@dataclass(frozen=True)
class _Row:
    source: int
    targets: np.ndarray  # stage indices, shape (k,)
    base: np.ndarray  # base probabilities, shape (k,)
    stay: float
    betas: np.ndarray  # shape (k, len(DRIVERS)); rows of zeros when no effect
    active_drivers: tuple[int, ...]  # driver columns with a non-zero beta in this row


class TransitionTable:
    """Vectorised sampler of one month's stage transitions."""

    def __init__(self, lifecycle: Lifecycle) -> None:
        self.stage_names = lifecycle.stage_names
        index = {name: i for i, name in enumerate(self.stage_names)}
        self.roles = np.array([s.role for s in lifecycle.stages])
        n = len(self.stage_names)
        self.matrix = np.eye(n)
        rows = []
        effects = {
            tuple(part.strip() for part in key.split("->")): eff
            for key, eff in lifecycle.driver_effects.items()
        }
        for src, row in lifecycle.transitions.items():
            i = index[src]
            items = [(index[dst], p) for dst, p in row.items() if p > 0]
            if not items:
                continue
            targets = np.array([j for j, _ in items])
            base = np.array([p for _, p in items])
            self.matrix[i, targets] = base
            self.matrix[i, i] = 1.0 - base.sum()
            betas = np.zeros((len(items), len(DRIVERS)))
            for r, (j, _) in enumerate(items):
                for driver, beta in effects.get((src, self.stage_names[j]), {}).items():
                    betas[r, DRIVERS.index(driver)] = beta
            active = tuple(int(c) for c in np.flatnonzero(np.any(betas != 0, axis=0)))
            rows.append(_Row(i, targets, base, float(self.matrix[i, i]), betas, active))
        self.rows = rows
        self._compile()

    def step(
        self, stage: np.ndarray, drivers: dict[str, np.ndarray], uniforms: np.ndarray
    ) -> np.ndarray:
        """Return each customer's stage next month.

        Args:
            stage: Current stage index per customer.
            drivers: Centred driver value per customer, by driver name; drivers
                without an effect in the scenario may be missing.
            uniforms: One U(0, 1) draw per customer (the transitions stream).

        Returns:
            The new stage index per customer (a new array).
        """
        n = len(stage)
        zeros = np.zeros(n)
        arrays = [np.asarray(drivers[name], np.float64) if name in drivers else zeros
                  for name in DRIVERS]
        new_stage = np.empty_like(stage)
        kernels.transition_stages(
            stage, np.ascontiguousarray(uniforms, dtype=np.float64), np.zeros(0, np.int64),
            np.uint64(0), arrays[0], arrays[1],
            arrays[2], zeros, arrays[3], arrays[4], arrays[5], arrays[6], 0.0, np.zeros(7),
            False, *self._tables, new_stage)
        return new_stage

    def step_columns(
        self, stage: np.ndarray, draws: np.ndarray | tuple[np.ndarray, np.uint64],
        columns: dict[str, np.ndarray], gap_points: float, reference: dict[str, float],
    ) -> np.ndarray:
        """:meth:`step` with the drivers computed per row from population columns.

        Args:
            stage: Current stage per row.
            draws: One U(0, 1) draw per row, or ``(ids, key)``: each row's keyed
                draw (:func:`sim.streams.keyed_uniform`), made inside the sampler.
            columns: The population's columns (``satisfaction``, ``share_of_wallet``,
                ``yield_bump_bp``, ``price_sensitivity``, ``contacts``,
                ``wait_minutes``, ``complaints``, ``products``).
            gap_points: Competitor minus bank yield in percentage points.
            reference: Each driver's typical value (missing: 0).
        """
        c = columns
        if isinstance(draws, tuple):
            uniforms, (ids, key) = np.zeros(0), draws
        else:
            uniforms, ids, key = np.asarray(draws, np.float64), np.zeros(0, np.int64), np.uint64(0)
        new_stage = np.empty_like(stage)
        kernels.transition_stages(
            stage, np.ascontiguousarray(uniforms), ids, key, c["satisfaction"],
            c["share_of_wallet"], c["yield_bump_bp"], c["price_sensitivity"], c["contacts"],
            c["wait_minutes"], c["complaints"], c["products"], float(gap_points),
            np.array([reference.get(d, 0.0) for d in DRIVERS], np.float64), True,
            *self._tables, new_stage)
        return new_stage

    def _compile(self) -> None:
        """Pad the rows into per-stage tables for the compiled sampler."""
        n, width = len(self.stage_names), max((len(r.targets) for r in self.rows), default=0)
        n_moves = np.zeros(n, np.int64)
        targets = np.zeros((n, max(width, 1)), np.int64)
        base = np.zeros((n, max(width, 1)))
        cumulative = np.zeros((n, max(width, 1)))
        stay = np.ones(n)
        betas = np.zeros((n, max(width, 1), len(DRIVERS)))
        has_drivers = np.zeros(n, np.bool_)
        for r in self.rows:
            k = len(r.targets)
            n_moves[r.source] = k
            targets[r.source, :k] = r.targets
            base[r.source, :k] = r.base
            cumulative[r.source, :k] = np.cumsum(r.base)
            stay[r.source] = r.stay
            betas[r.source, :k, :] = r.betas
            has_drivers[r.source] = bool(r.active_drivers)
        self._tables = (n_moves, targets, base, cumulative, stay, betas, has_drivers)

    @property
    def tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                              np.ndarray, np.ndarray]:
        """The compiled sampler's per-stage tables (see :func:`sim.kernels.transition_stages`)."""
        return self._tables

    @property
    def drivers_used(self) -> set[str]:
        """Drivers with a non-zero effect on some transition."""
        return {DRIVERS[c] for row in self.rows for c in row.active_drivers}


def absorbing_chain_summary(
    matrix: np.ndarray, absorbing: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fundamental-matrix results of an absorbing Markov chain (Grinstead & Snell ch. 11).

    Args:
        matrix: Row-stochastic transition matrix.
        absorbing: Boolean mask of absorbing states.

    Returns:
        ``(t, var_t, B)``: expected steps to absorption from each transient
        state, their variance, and absorption probabilities into each absorbing
        state (rows: transient states, columns: absorbing states).
    """
    transient = ~absorbing
    q = matrix[np.ix_(transient, transient)]
    r = matrix[np.ix_(transient, absorbing)]
    fundamental = np.linalg.inv(np.eye(q.shape[0]) - q)
    t = fundamental.sum(axis=1)
    var_t = (2 * fundamental - np.eye(q.shape[0])) @ t - t**2
    return t, var_t, fundamental @ r
