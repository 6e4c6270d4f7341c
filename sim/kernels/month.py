"""The month's per-row phases, compiled: response, transitions, classes, ledger.

Each is one phase for every row in one pass (the market's is
:func:`sim.kernels.market.market_rows`); the step runs them fused into one pass
(:func:`sim.kernels.close.close_month`), and they remain its definition:
``tests/sim/test_kernels.py`` checks the fused pass against them run in
sequence. Those without totals run in parallel (``prange``); those that add
up money run sequentially, or per fixed chunk, so totals do not depend on the
number of threads.
"""

from __future__ import annotations

import numba
import numpy as np

from sim.kernels.draws import _ndtri, _uniform
from sim.kernels.tallies import CHUNK

__all__ = ["book_rows", "respond_rows", "segment_rows",
           "settle_transitions", "tiers_rows", "transition_stages"]


@numba.njit(parallel=True, cache=True, nogil=True)
def respond_rows(
    ids: np.ndarray, key: np.uint64, stage: np.ndarray, gap_points: float,
    yield_bump_bp: np.ndarray, price_sensitivity: np.ndarray, satisfaction_base: np.ndarray,
    wait_minutes: np.ndarray, complaints: np.ndarray, wallet_propensity: np.ndarray,
    wallet_share_by_stage: np.ndarray, total_wealth: np.ndarray, params: np.ndarray,
    satisfaction: np.ndarray, share_of_wallet: np.ndarray, aum: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """One month of :func:`sim.dynamics.respond` per row, its noise drawn by key.

    ``params``: satisfaction price-gap, wait and complaint effects, wait
    tolerance, noise sd, adjustment; wallet satisfaction and price-gap
    effects, wallet adjustment, satisfaction reference.
    """
    for i in numba.prange(ids.shape[0]):
        _respond_row(i, _ndtri(_uniform(ids[i], key)), stage[i], gap_points, yield_bump_bp,
                     price_sensitivity, satisfaction_base, wait_minutes, complaints,
                     wallet_propensity, wallet_share_by_stage, total_wealth, params,
                     satisfaction, share_of_wallet, aum)


@numba.njit(inline="always")
def _respond_row(
    i: int, z: float, s: int, gap_points: float,
    yield_bump_bp: np.ndarray, price_sensitivity: np.ndarray, satisfaction_base: np.ndarray,
    wait_minutes: np.ndarray, complaints: np.ndarray, wallet_propensity: np.ndarray,
    wallet_share_by_stage: np.ndarray, total_wealth: np.ndarray, params: np.ndarray,
    satisfaction: np.ndarray, share_of_wallet: np.ndarray, aum: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Row ``i``'s response (in stage ``s``, noise ``z`` ~ N(0, 1)): satisfaction, wallet, AUM."""
    gap = (gap_points - yield_bump_bp[i] / 100.0) * price_sensitivity[i]
    target = satisfaction_base[i] + params[0] * gap
    target += params[1] * max(wait_minutes[i] - params[3], 0.0)
    target += params[2] * complaints[i]
    noise = params[4] * z
    sat = float(satisfaction[i])
    satisfaction[i] = min(max(sat + params[5] * (target - sat) + noise, 0.0), 1.0)
    wallet = wallet_propensity[i] * wallet_share_by_stage[s]
    wallet *= 1.0 + params[6] * (float(satisfaction[i]) - params[9])
    if wallet > 0:
        wallet += params[7] * gap
    wallet = min(max(wallet, 0.0), 1.0)
    sow = float(share_of_wallet[i])
    share_of_wallet[i] = min(max(sow + params[8] * (wallet - sow), 0.0), 1.0)
    aum[i] = total_wealth[i] * share_of_wallet[i]


@numba.njit(inline="always")
def _eta(betas: np.ndarray, s: int, k: int, x0: float, x1: float, x2: float, x3: float,
         x4: float, x5: float, x6: float) -> float:  # pragma: no cover - compiled
    return (betas[s, k, 0] * x0 + betas[s, k, 1] * x1 + betas[s, k, 2] * x2
            + betas[s, k, 3] * x3 + betas[s, k, 4] * x4 + betas[s, k, 5] * x5
            + betas[s, k, 6] * x6)


@numba.njit(inline="always")
def _next_stage(
    s: int, u: float, x0: float, x1: float, x2: float, x3: float, x4: float, x5: float,
    x6: float, n_moves: np.ndarray, targets: np.ndarray, base: np.ndarray,
    cumulative: np.ndarray, stay: np.ndarray, betas: np.ndarray, has_drivers: np.ndarray,
    weight: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """The stage after ``s`` for draw ``u`` and centred drivers ``x0``-``x6``.

    ``weight`` is work space with one slot per move (owned by the calling thread).
    """
    if has_drivers[s]:
        for k in range(n_moves[s]):  # exp(log-odds) first; _choose weighs them in place
            weight[k] = np.exp(_eta(betas, s, k, x0, x1, x2, x3, x4, x5, x6))
    return _choose(s, u, weight, 0, n_moves, targets, base, cumulative, stay, has_drivers,
                   weight)


@numba.njit(inline="always")
def _choose(
    s: int, u: float, odds: np.ndarray, at: int, n_moves: np.ndarray, targets: np.ndarray,
    base: np.ndarray, cumulative: np.ndarray, stay: np.ndarray, has_drivers: np.ndarray,
    weight: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """The stage after ``s`` for draw ``u``, the exps of its moves' log-odds in ``odds[at:]``.

    Markov stages (no drivers) take the first move whose running sum exceeds
    ``u``; others weigh each move by its base rate times the exp, against the
    stay weight. ``weight`` is work space and may be ``odds`` itself (each slot
    is read before it is written). Used by :func:`_next_stage` and by
    ``close_month``, which takes the exps in a tight loop of its own.
    """
    moves = n_moves[s]
    if moves > 0 and not has_drivers[s]:
        for k in range(moves):  # the Markov chain: first move whose running sum exceeds u
            if u < cumulative[s, k]:
                return targets[s, k]
        return s
    denom = stay[s]
    for k in range(moves):
        weight[k] = base[s, k] * odds[at + k]
        denom += weight[k]
    threshold = 0.0
    for k in range(moves):
        lower = threshold
        threshold += weight[k] / denom
        if lower <= u < threshold:
            return targets[s, k]
    return s


@numba.njit(inline="always")
def _drivers(
    i: int, satisfaction: np.ndarray, share_of_wallet: np.ndarray, yield_bump_bp: np.ndarray,
    price_sensitivity: np.ndarray, contacts: np.ndarray, wait_minutes: np.ndarray,
    complaints: np.ndarray, products: np.ndarray, gap_points: float, reference: np.ndarray,
) -> tuple[float, float, float, float, float, float, float]:  # pragma: no cover - compiled
    """Row ``i``'s seven centred drivers (``sim.schema.DRIVERS`` order) from its columns."""
    return (float(satisfaction[i]) - reference[0],
            float(share_of_wallet[i]) - reference[1],
            ((gap_points - float(yield_bump_bp[i]) / 100.0) * float(price_sensitivity[i])
             - reference[2]),
            (np.log1p(float(contacts[i])) if contacts[i] > 0 else 0.0) - reference[3],
            float(wait_minutes[i]) - reference[4],
            float(complaints[i]) - reference[5],
            float(products[i]) - reference[6])


@numba.njit(parallel=True, cache=True, nogil=True)
def transition_stages(
    stage: np.ndarray,
    uniforms: np.ndarray,
    ids: np.ndarray,
    key: np.uint64,
    satisfaction: np.ndarray,
    share_of_wallet: np.ndarray,
    yield_bump_bp: np.ndarray,
    price_sensitivity: np.ndarray,
    contacts: np.ndarray,
    wait_minutes: np.ndarray,
    complaints: np.ndarray,
    products: np.ndarray,
    gap_points: float,
    reference: np.ndarray,
    from_columns: bool,
    n_moves: np.ndarray,
    targets: np.ndarray,
    base: np.ndarray,
    cumulative: np.ndarray,
    stay: np.ndarray,
    betas: np.ndarray,
    has_drivers: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Next month's stage of every row (the multinomial logit of :mod:`sim.lifecycle`).

    The seven drivers (``sim.schema.DRIVERS`` order) are computed per row
    from the population's columns when ``from_columns``: satisfaction, share
    of wallet, price gap = (``gap_points`` − yield bump / 100) × price
    sensitivity, log(1 + contacts), wait, complaints, products, each minus its
    ``reference``. Otherwise the eight arrays already hold centred driver
    values (the price gap in ``yield_bump_bp``; ``price_sensitivity`` unused).

    Args:
        stage: Current stage per row.
        uniforms: One U(0, 1) draw per row, or empty: then each row's keyed draw
            of ``ids`` under ``key`` (:func:`keyed_uniform_into`), made here.
        ids: Customer ids (used when ``uniforms`` is empty).
        key: The draws' key (likewise).
        satisfaction: See above (likewise the next seven arrays).
        share_of_wallet: See above.
        yield_bump_bp: See above.
        price_sensitivity: See above.
        contacts: See above.
        wait_minutes: See above.
        complaints: See above.
        products: See above.
        gap_points: Competitor minus bank yield, percentage points.
        reference: The seven drivers' reference values.
        from_columns: Whether the arrays are columns (True) or centred drivers.
        n_moves: Moves out of each stage.
        targets: Per stage and move: the target stage.
        base: Per stage and move: the base probability.
        cumulative: Per stage and move: the running sum of base probabilities.
        stay: Base probability of staying, per stage.
        betas: Per stage, move and driver: the effect on the log-odds.
        has_drivers: Per stage: whether any driver moves its log-odds.
        out: The new stage per row (written).
    """
    keyed_here = 1 if uniforms.shape[0] == 0 else 0
    n = stage.shape[0]
    n_chunks = (n + CHUNK - 1) // CHUNK
    for chunk in numba.prange(n_chunks):
        weight = np.empty(base.shape[1])  # this chunk's own: threads share no cache line
        for i in range(np.uint64(chunk * CHUNK), np.uint64(min(n, (chunk + 1) * CHUNK))):
            u = uniforms[i] if keyed_here == 0 else _uniform(ids[i], key)
            if from_columns:
                x0, x1, x2, x3, x4, x5, x6 = _drivers(
                    i, satisfaction, share_of_wallet, yield_bump_bp, price_sensitivity,
                    contacts, wait_minutes, complaints, products, gap_points, reference)
            else:
                x0, x1, x2 = float(satisfaction[i]), float(share_of_wallet[i]), float(
                    yield_bump_bp[i])
                x3, x4, x5 = float(contacts[i]), float(wait_minutes[i]), float(complaints[i])
                x6 = float(products[i])
            out[i] = _next_stage(stage[i], u, x0, x1, x2, x3, x4, x5, x6, n_moves, targets,
                                 base, cumulative, stay, betas, has_drivers, weight)


@numba.njit(cache=True, nogil=True)
def settle_transitions(
    old: np.ndarray, new: np.ndarray, roles: np.ndarray, month: int, was_customer: np.ndarray,
    aum: np.ndarray, share_of_wallet: np.ndarray, absorbed_month: np.ndarray,
    products: np.ndarray, months_in_stage: np.ndarray, tenure: np.ndarray,
    entered_month: np.ndarray, entry_stage: np.ndarray, acquired: np.ndarray,
) -> tuple[int, int, int, float, float]:  # pragma: no cover - compiled
    """Book one month's stage moves into the rows, in one sequential pass.

    Rows absorbed this month lose their AUM and share of wallet and record the
    month; new customers get their first product; months in stage and tenure
    advance; ``acquired`` marks prospects who became customers and arrivals
    straight into a customer stage. ``roles`` per stage: 0 prospect,
    1 customer, 2 absorbing.

    Returns:
        Acquired, churned and lapsed counts; the AUM that churned; and the part
        of it held by rows that were not customers at the start of the month.
    """
    n_acquired = n_churned = n_lapsed = 0
    aum_churned = aum_churned_new = 0.0
    for i in range(old.shape[0]):
        left, aum_out, acquired[i] = _settle_row(
            i, old[i], new[i], roles, month, aum, share_of_wallet, absorbed_month, products,
            months_in_stage, tenure, entered_month, entry_stage)
        if left == 1:
            n_churned += 1
            aum_churned += aum_out
            if not was_customer[i]:
                aum_churned_new += aum_out
        elif left == 0:
            n_lapsed += 1
        if acquired[i]:
            n_acquired += 1
    return n_acquired, n_churned, n_lapsed, aum_churned, aum_churned_new


@numba.njit(inline="always")
def _settle_row(
    i: int, a: int, b: int, roles: np.ndarray, month: int, aum: np.ndarray,
    share_of_wallet: np.ndarray, absorbed_month: np.ndarray, products: np.ndarray,
    months_in_stage: np.ndarray, tenure: np.ndarray, entered_month: np.ndarray,
    entry_stage: np.ndarray,
) -> tuple[int, float, bool]:  # pragma: no cover - compiled
    """Row ``i``'s move from stage ``a`` to ``b`` booked into its columns.

    Returns:
        The role it was absorbed from (1 churned customer, 0 lapsed prospect,
        -1 not absorbed this month), the AUM it took, and whether it was
        acquired (a prospect become customer, or an arrival into a customer stage).
    """
    moved = a != b
    from_prospect = roles[a] == 0
    became = from_prospect and roles[b] == 1
    left, aum_out = -1, 0.0
    if moved and roles[b] == 2:
        if roles[a] == 1:
            left, aum_out = 1, aum[i]
        elif from_prospect:
            left = 0
        aum[i] = 0.0
        share_of_wallet[i] = 0.0
        absorbed_month[i] = month
    if became:
        products[i] = 1
    months_in_stage[i] = 0 if moved else months_in_stage[i] + 1
    if roles[b] == 1:
        tenure[i] += 1
    return left, aum_out, became or (entered_month[i] == month and roles[entry_stage[i]] == 1)


@numba.njit(parallel=True, cache=True, nogil=True)
def tiers_rows(
    is_customer: np.ndarray, aum: np.ndarray, bounds: np.ndarray, tier: np.ndarray,
    segment: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Customers' AUM tier (the last bound ≤ AUM); non-customers get tier and segment -1."""
    for i in numba.prange(is_customer.shape[0]):
        if is_customer[i]:
            tier[i] = np.searchsorted(bounds, aum[i], side="right") - 1
        else:
            tier[i] = -1
            segment[i] = -1


@numba.njit(parallel=True, cache=True, nogil=True)
def segment_rows(
    rows: np.ndarray, age: np.ndarray, digital_adoption: np.ndarray, total_wealth: np.ndarray,
    aum: np.ndarray, weights: np.ndarray, potential_threshold: float,
    current_threshold: float, potential_value: np.ndarray, segment: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Potential value and A/B/C/D segment of the given rows (:func:`sim.dynamics.classify`).

    ``weights``: youth, digital adoption and wealth held elsewhere, normalised
    to sum to one. Segment codes: 0 A (high potential, low current value),
    1 B (both high), 2 C (high current, low potential), 3 D (both low).
    """
    for j in numba.prange(rows.shape[0]):
        _segment_row(rows[j], age, digital_adoption, total_wealth, aum, weights,
                     potential_threshold, current_threshold, potential_value, segment)


@numba.njit(inline="always")
def _segment_row(
    i: int, age: np.ndarray, digital_adoption: np.ndarray, total_wealth: np.ndarray,
    aum: np.ndarray, weights: np.ndarray, potential_threshold: float,
    current_threshold: float, potential_value: np.ndarray, segment: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Row ``i``'s potential value and segment (see :func:`segment_rows`)."""
    _segment_of(i, np.log10(_wealth_arg(i, total_wealth, aum)), age, digital_adoption, aum,
                weights, potential_threshold, current_threshold, potential_value, segment)


@numba.njit(inline="always")
def _wealth_arg(
    i: int | np.uint64, total_wealth: np.ndarray, aum: np.ndarray,
) -> float:  # pragma: no cover - compiled
    """1 + row ``i``'s wealth held elsewhere: :func:`_segment_row` takes its log10."""
    return 1.0 + max(float(total_wealth[i]) - aum[i], 0.0)


@numba.njit(inline="always")
def _segment_of(
    i: int | np.uint64, log_wealth: float, age: np.ndarray, digital_adoption: np.ndarray,
    aum: np.ndarray, weights: np.ndarray, potential_threshold: float, current_threshold: float,
    potential_value: np.ndarray, segment: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """:func:`_segment_row` given ``log_wealth`` = log10 of :func:`_wealth_arg` (taken apart).

    Any ``log_wealth`` at or below 4 gives the same bits (wealth 0), any at or
    above 7 too (wealth 1); ``close_month`` takes every log10 all the same (skipping
    those far from both measured no faster).
    """
    youth = min(max((65.0 - age[i]) / 45.0, 0.0), 1.0)
    wealth = min(max((log_wealth - 4.0) / 3.0, 0.0), 1.0)
    score = weights[0] * youth + weights[1] * digital_adoption[i] + weights[2] * wealth
    potential_value[i] = score
    high_current = aum[i] >= current_threshold
    if score >= potential_threshold:
        segment[i] = 1 if high_current else 0
    else:
        segment[i] = 2 if high_current else 3


@numba.njit(cache=True, nogil=True)
def book_rows(
    customers: np.ndarray, aum: np.ndarray, inflow: np.ndarray, products: np.ndarray,
    channel: np.ndarray, acquired: np.ndarray, margin_month: float, fee: float,
    servicing: np.ndarray, per_10k: np.ndarray, acquisition_cost: float,
    revenue: np.ndarray, cost: np.ndarray,
) -> tuple[float, float, float, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Each row's revenue and cost this month, and the bank's totals by kind and channel.

    ``inflow`` is each row's new money this month, which pays the channel's
    transaction cost. Sequential, so the totals are the same on any machine.
    """
    n_channels = servicing.shape[0]
    by_servicing, by_transaction = np.zeros(n_channels), np.zeros(n_channels)
    interest_total = fees_total = acquisition_total = 0.0
    for i in range(customers.shape[0]):
        c = channel[i]
        interest, fees, serving, transaction, acquisition = _book_row(
            i, customers[i], acquired[i], inflow[i], c, aum, products, margin_month, fee,
            servicing, per_10k, acquisition_cost, revenue, cost)
        interest_total += interest
        fees_total += fees
        acquisition_total += acquisition
        by_servicing[c] += serving
        by_transaction[c] += transaction
    return interest_total, fees_total, acquisition_total, by_servicing, by_transaction


@numba.njit(inline="always")
def _book_row(
    i: int, is_customer: bool, acquired: bool, inflow: float, c: int, aum: np.ndarray,
    products: np.ndarray, margin_month: float, fee: float, servicing: np.ndarray,
    per_10k: np.ndarray, acquisition_cost: float, revenue: np.ndarray, cost: np.ndarray,
) -> tuple[float, float, float, float, float]:  # pragma: no cover - compiled
    """Row ``i``'s revenue and cost, written; returns their parts.

    The parts: interest, fees, servicing, transaction and acquisition cost.
    """
    acquisition = acquisition_cost if acquired else 0.0
    transaction = inflow / 10_000.0 * per_10k[c]
    interest = fees = serving = 0.0
    if is_customer:
        interest = aum[i] * margin_month
        fees = products[i] * fee
        serving = servicing[c]
    revenue[i] = interest + fees
    cost[i] = serving + transaction + acquisition
    return interest, fees, serving, transaction, acquisition
