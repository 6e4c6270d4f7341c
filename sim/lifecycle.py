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
        new_stage = stage.copy()
        # one stable (radix) sort groups the rows by stage; each stage is a slice of it
        order = np.argsort(stage, kind="stable")
        starts = np.concatenate([[0], np.cumsum(np.bincount(stage, minlength=len(self.roles)))])
        for row in self.rows:
            idx = order[starts[row.source] : starts[row.source + 1]]
            if idx.size == 0:
                continue
            u = uniforms[idx]
            if row.active_drivers:
                x = {c: drivers[DRIVERS[c]][idx] for c in row.active_drivers}
                weights: list[np.ndarray | float] = []
                for k, base in enumerate(row.base):
                    eta: np.ndarray | None = None
                    for c in row.active_drivers:
                        if row.betas[k, c] != 0.0:
                            term = row.betas[k, c] * x[c]
                            eta = term if eta is None else eta + term
                    weights.append(float(base) if eta is None else base * np.exp(eta))
                denom = np.full(idx.size, row.stay)
                for weight in weights:
                    denom += weight
                chosen = np.full(idx.size, row.source, dtype=stage.dtype)
                threshold = np.zeros(idx.size)
                for k, weight in enumerate(weights):
                    below = u >= threshold
                    threshold += weight / denom
                    chosen[below & (u < threshold)] = row.targets[k]
                new_stage[idx] = chosen
            else:
                choice = np.searchsorted(np.cumsum(row.base), u, side="right")
                moved = choice < len(row.targets)
                new_stage[idx[moved]] = row.targets[choice[moved]]
        return new_stage

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
