"""The month after the channels, compiled into one pass over the rows.

:func:`close_month` does, row by row, what :func:`respond_rows`,
:func:`transition_stages`, :func:`settle_transitions`, :func:`tiers_rows`,
:func:`segment_rows`, :func:`book_rows`, :func:`census` and
:func:`cohort_tallies` do one after the other, plus the step's flow sums
(AUM after the response, tier and private-banking migrations, AUM
acquired). Each row is read from memory once or twice instead of a dozen
times: the rows go in blocks of :data:`BLOCK`, each block in a few loops
(response and log-odds; the transitions' exps; the rest; the cohort tallies)
so the costly parts run in tight loops without unpredictable branches. The
per-row results are the same as those of the separate kernels (tested); the
totals are added per fixed chunk of :data:`CHUNK` rows, chunks in order, so
they do not depend on the number of threads (they may differ from a purely
sequential sum in the last bits).
"""

from __future__ import annotations

import numba
import numpy as np

from sim.kernels.close_blocks import _contact_logs, _segment_block, _tally_block, whole_logs
from sim.kernels.draws import BLOCK, _uniform
from sim.kernels.month import (
    _book_row,
    _choose,
    _eta,
    _respond_row,
    _segment_row,
    _settle_row,
)
from sim.kernels.tallies import CHUNK

__all__ = ["FLOW_NAMES", "close_month"]

#: The flow sums :func:`close_month` returns, in order.
FLOW_NAMES = ("acquired", "churned", "lapsed", "aum_churned", "aum_churned_new",
              "aum_after_response", "aum_acquired", "tier_up", "tier_down",
              "private_banking_up", "private_banking_down")
_ACQ, _CHURN, _LAPSE, _AUM_CHURN, _AUM_CHURN_NEW, _AUM_RESP, _AUM_ACQ = 0, 1, 2, 3, 4, 5, 6
_TIER_UP, _TIER_DOWN, _PB_UP, _PB_DOWN = 7, 8, 9, 10


@numba.njit(parallel=True, cache=True, nogil=True)
def close_month(
    ids: np.ndarray, noise: np.ndarray, key: np.uint64, month: int, stage: np.ndarray,
    roles: np.ndarray,
    was_customer: np.ndarray, old_aum: np.ndarray, was_private: np.ndarray,
    # response
    gap_points: float, yield_bump_bp: np.ndarray, price_sensitivity: np.ndarray,
    satisfaction_base: np.ndarray, wait_minutes: np.ndarray, complaints: np.ndarray,
    wallet_propensity: np.ndarray, wallet_share_by_stage: np.ndarray,
    total_wealth: np.ndarray, response: np.ndarray, satisfaction: np.ndarray,
    share_of_wallet: np.ndarray, aum: np.ndarray,
    # transitions
    contacts: np.ndarray, products: np.ndarray, reference: np.ndarray, n_moves: np.ndarray,
    targets: np.ndarray, base: np.ndarray, cumulative: np.ndarray, stay: np.ndarray,
    betas: np.ndarray, has_drivers: np.ndarray, absorbed_month: np.ndarray,
    months_in_stage: np.ndarray, tenure: np.ndarray, entered_month: np.ndarray,
    entry_stage: np.ndarray,
    # classes
    bounds: np.ndarray, segments_due: bool, age: np.ndarray, digital_adoption: np.ndarray,
    potential_weights: np.ndarray, potential_threshold: float, current_threshold: float,
    potential_value: np.ndarray, tier: np.ndarray, segment: np.ndarray,
    private_threshold: float,
    # ledger
    channel: np.ndarray, economics: np.ndarray, servicing: np.ndarray, per_10k: np.ndarray,
    revenue: np.ndarray, cost: np.ndarray,
    # census and cohorts
    is_initial: np.ndarray, sizes: np.ndarray, cohorts: np.ndarray,
    customers: np.ndarray, threads: int = 1,
) -> tuple[np.ndarray, ...]:  # pragma: no cover - compiled
    """Response, transitions, classes, ledger and tallies of one month, row by row.

    Args:
        ids: Customer ids; ``key`` = the transitions' draw key.
        noise: Each row's response noise, a standard normal: the keyed normal draw of
            its id under the response's key (:func:`sim.kernels.keyed_normal_into`),
            drawn beforehand in a loop of its own (a tight loop hides the quantile's
            latency, which costs about 8 ms a month at 1.2M rows inside this one).
        key: See ``ids``.
        month: The month being closed.
        stage: Stage per row (moved in place); ``roles`` per stage: 0 prospect,
            1 customer, 2 absorbing.
        roles: See ``stage``.
        was_customer: Whether the row was a customer at the start of the month.
        old_aum: AUM before the strategies acted (new money = the rise from it).
        was_private: Whether the row's AUM at the start of the month (last month's
            close) was at or above ``private_threshold``: a staying customer whose
            status differs now crossed the threshold this month.
        gap_points: Competitor minus bank yield, percentage points.
        yield_bump_bp: Response inputs, as :func:`respond_rows` (to ``total_wealth``).
        price_sensitivity: See ``yield_bump_bp``.
        satisfaction_base: See ``yield_bump_bp``.
        wait_minutes: See ``yield_bump_bp``.
        complaints: See ``yield_bump_bp``.
        wallet_propensity: See ``yield_bump_bp``.
        wallet_share_by_stage: See ``yield_bump_bp``.
        total_wealth: See ``yield_bump_bp``.
        response: :func:`respond_rows`'s ``params``.
        satisfaction: Updated in place (likewise share of wallet and AUM).
        share_of_wallet: See ``satisfaction``.
        aum: See ``satisfaction``.
        contacts: Transition drivers, with the tables of :func:`transition_stages`
            (``contacts`` to ``has_drivers``).
        products: See ``contacts``.
        reference: See ``contacts``.
        n_moves: See ``contacts``.
        targets: See ``contacts``.
        base: See ``contacts``.
        cumulative: See ``contacts``.
        stay: See ``contacts``.
        betas: See ``contacts``.
        has_drivers: See ``contacts``.
        absorbed_month: Settled as :func:`settle_transitions` (to ``entry_stage``).
        months_in_stage: See ``absorbed_month``.
        tenure: See ``absorbed_month``.
        entered_month: See ``absorbed_month``.
        entry_stage: See ``absorbed_month``.
        bounds: Tier lower bounds; with the next seven, as :func:`tiers_rows` and
            :func:`segment_rows` (segments reviewed when due, or when missing).
        segments_due: See ``bounds``.
        age: See ``bounds``.
        digital_adoption: See ``bounds``.
        potential_weights: See ``bounds``.
        potential_threshold: See ``bounds``.
        current_threshold: See ``bounds``.
        potential_value: See ``bounds``.
        tier: Written.
        segment: Written.
        private_threshold: Private-banking AUM threshold.
        channel: Channel per row; ``economics`` = [monthly AUM margin, fee per
            product, acquisition cost]; ``servicing`` and ``per_10k`` per channel,
            as :func:`book_rows`.
        economics: See ``channel``.
        servicing: See ``channel``.
        per_10k: See ``channel``.
        revenue: This month's revenue per row (written; likewise cost).
        cost: See ``revenue``.
        is_initial: Whether the row was in the bank at month 0.
        sizes: Numbers of stages, segments, tiers and channels.
        cohorts: Cohort code per strategy and row (shape strategies × rows).
        customers: Whether the row is a customer after the month (written).
        threads: The threads the parallel loop runs on (``numba.get_num_threads()``;
            called in here, it would keep Numba from caching the kernel): they take
            the chunks round robin (:func:`_round_robin`), which balances them
            better. The results are the same for any value.

    Returns:
        ``flows`` (:data:`FLOW_NAMES`), the ledger's totals ``[interest, fees,
        acquisition]`` and by channel (servicing, transaction), then
        :func:`census`'s six arrays, then :func:`cohort_tallies`' array.
    """
    n = stage.shape[0]
    n_chunks = max((n + CHUNK - 1) // CHUNK, 1)
    n_channels, n_strategies = servicing.shape[0], cohorts.shape[0]
    flows = np.zeros((n_chunks, len(FLOW_NAMES)))
    money = np.zeros((n_chunks, 3))
    by_servicing = np.zeros((n_chunks, n_channels))
    by_transaction = np.zeros((n_chunks, n_channels))
    by_stage = np.zeros((n_chunks, sizes[0]), np.int64)
    by_segment = np.zeros((n_chunks, sizes[1]), np.int64)
    by_tier = np.zeros((n_chunks, sizes[2]), np.int64)
    by_channel = np.zeros((n_chunks, sizes[3]), np.int64)
    heads = np.zeros((n_chunks, 4), np.int64)
    sums = np.zeros((n_chunks, 4))
    tallies = np.zeros((n_chunks, n_strategies, 3, 4))
    margin, fee, acquisition_cost = economics[0], economics[1], economics[2]
    # per stage and move: whether its weight needs an exp (its log-odds move with a driver)
    n_stages, width = base.shape
    needs_exp = np.zeros((n_stages, width), np.int64)
    for s in range(n_stages):
        for j in range(n_moves[s]):
            needs_exp[s, j] = has_drivers[s] and np.any(betas[s, j] != 0.0)
    order = _round_robin(n_chunks, threads)
    contact_logs = whole_logs(contacts)
    for j in numba.prange(n_chunks):
        k = order[j]  # each chunk's sums stay in its own slot, whichever thread adds them
        # this chunk's own work space and sums (threads sharing cache lines would stall)
        weight = np.empty(base.shape[1])
        u, logs, others = np.empty(BLOCK), np.empty(BLOCK), np.empty(BLOCK, np.int64)
        # rows is also the contacts' and the tallies' gather space: a block's worth at least
        odds, rows = np.empty(BLOCK * width), np.empty(BLOCK * max(width, 1), np.int64)
        f = np.zeros(len(FLOW_NAMES))
        mon = np.zeros(3)
        serv, trans = np.zeros(n_channels), np.zeros(n_channels)
        # counts by segment, tier and channel from slot 1 (slot 0: rows not counted)
        st, sg = np.zeros(sizes[0], np.int64), np.zeros(sizes[1] + 1, np.int64)
        tr, ch = np.zeros(sizes[2] + 1, np.int64), np.zeros(sizes[3] + 1, np.int64)
        hd, sm = np.zeros(4, np.int64), np.zeros(4)
        # when segments are due, _segment_block counts them; the row loop's counts are dropped
        sg_rows = np.zeros(sizes[1] + 1, np.int64) if segments_due else sg
        tl = np.zeros((n_strategies, 3, 4))
        # the sums every row adds to, in registers (not in memory: a chain of stores
        # and loads per row otherwise); a row left out adds 0.0, which leaves a sum of
        # non-negative terms the same bit for bit (from +0.0 it is never -0.0)
        aum_response = interest_sum = fees_sum = acquisition_sum = 0.0
        aum_sum = satisfaction_sum = wallet_sum = contacts_sum = 0.0
        customer_rows = prospect_rows = initial_rows = private_rows = 0
        end = np.uint64(min(n, (k + 1) * CHUNK))
        for lo in range(np.uint64(k * CHUNK), end, np.uint64(BLOCK)):
            hi = min(end, lo + np.uint64(BLOCK))
            m = _odds_block(lo, hi, ids, key, noise, stage, gap_points, yield_bump_bp,
                            price_sensitivity, satisfaction_base, wait_minutes, complaints,
                            wallet_propensity, wallet_share_by_stage, total_wealth, response,
                            satisfaction, share_of_wallet, aum, contacts, products, reference,
                            betas, needs_exp, contact_logs, u, logs, odds, rows)
            for t in range(m):  # a tight loop of its own: see _odds_block
                odds[rows[t]] = np.exp(odds[rows[t]])
            for i in range(lo, hi):
                a = stage[i]
                was = was_customer[i]
                inflow = max(aum[i] - old_aum[i], 0.0) if was else 0.0
                aum_response += aum[i] if was else 0.0  # += 0.0: the same bits
                tier_before = tier[i]
                # transition (transition_stages), the weights' exp from the block's odds
                b = _choose(a, u[i - lo], odds, np.int64(i - lo) * width, n_moves, targets, base,
                            cumulative, stay, has_drivers, weight)
                # settle (settle_transitions)
                left, aum_out, acquired = _settle_row(
                    i, a, b, roles, month, aum, share_of_wallet, absorbed_month, products,
                    months_in_stage, tenure, entered_month, entry_stage)
                if left == 1:
                    f[_CHURN] += 1.0
                    f[_AUM_CHURN] += aum_out
                    if not was:
                        f[_AUM_CHURN_NEW] += aum_out
                elif left == 0:
                    f[_LAPSE] += 1.0
                if acquired:
                    f[_ACQ] += 1.0
                    if not was:  # an opening balance is new money too (arrivals into a customer
                        inflow = aum[i]  # stage hold some; a converted prospect's is still 0)
                is_customer = roles[b] == 1
                stage[i] = b
                customers[i] = is_customer
                # classes (tiers_rows, segment_rows)
                if is_customer:
                    tier[i] = _tier(bounds, aum[i])
                    if not segments_due and segment[i] < 0:  # new customers; when due, all
                        _segment_row(i, age, digital_adoption, total_wealth, aum,  # below
                                     potential_weights, potential_threshold, current_threshold,
                                     potential_value, segment)
                    # migrations and AUM entering the customer set
                    if tier_before >= 0:
                        if tier[i] > tier_before:
                            f[_TIER_UP] += 1.0
                        elif tier[i] < tier_before:
                            f[_TIER_DOWN] += 1.0
                        # against last month's close, not this month's AUM before the
                        # transition (a staying customer's AUM does not change there)
                        if not was_private[i] and aum[i] >= private_threshold:
                            f[_PB_UP] += 1.0
                        elif was_private[i] and aum[i] < private_threshold:
                            f[_PB_DOWN] += 1.0
                    if not was:
                        f[_AUM_ACQ] += aum[i]
                else:
                    tier[i] = -1
                    segment[i] = -1
                # ledger (book_rows)
                c = channel[i]
                interest, fees, serving, transaction, acquisition = _book_row(
                    i, is_customer, acquired, inflow, c, aum, products, margin, fee, servicing,
                    per_10k, acquisition_cost, revenue, cost)
                interest_sum += interest
                fees_sum += fees
                acquisition_sum += acquisition
                serv[c] += serving
                trans[c] += transaction
                # census (census)
                _count_any(i, b, roles[b], segment, tier, channel, st, sg_rows, tr, ch)
                customer_rows += is_customer
                prospect_rows += roles[b] == 0
                initial_rows += is_customer and is_initial[i]
                private_rows += is_customer and aum[i] >= private_threshold
                aum_sum += aum[i] if is_customer else 0.0
                satisfaction_sum += float(satisfaction[i]) if is_customer else 0.0
                wallet_sum += float(share_of_wallet[i]) if is_customer else 0.0
                contacts_sum += float(contacts[i]) if is_customer else 0.0
                # strategies' cohorts (cohort_tallies)
            if segments_due:
                _segment_block(lo, hi, customers, age, digital_adoption, total_wealth, aum,
                               potential_weights, potential_threshold, current_threshold,
                               potential_value, segment, rows, logs, sg)
            _tally_block(lo, hi, cohorts, customers, aum, revenue, cost, rows, others, tl)
        f[_AUM_RESP] = aum_response
        mon[0], mon[1], mon[2] = interest_sum, fees_sum, acquisition_sum
        hd[0], hd[1], hd[2], hd[3] = customer_rows, prospect_rows, initial_rows, private_rows
        sm[0], sm[1], sm[2], sm[3] = aum_sum, satisfaction_sum, wallet_sum, contacts_sum
        flows[k], money[k], by_servicing[k], by_transaction[k] = f, mon, serv, trans
        by_stage[k], by_segment[k], by_tier[k], by_channel[k] = st, sg[1:], tr[1:], ch[1:]
        heads[k], sums[k], tallies[k] = hd, sm, tl
    return (_in_order(flows), _in_order(money), _in_order(by_servicing),
            _in_order(by_transaction), _in_order(by_stage), _in_order(by_segment),
            _in_order(by_tier), _in_order(by_channel), _in_order(heads), _in_order(sums),
            _in_order(tallies))


@numba.njit(inline="always")
def _round_robin(n_chunks: int, threads: int) -> np.ndarray:  # pragma: no cover - compiled
    """The chunks in the order the parallel loop takes them: every ``threads``-th chunk.

    A static schedule gives each thread a contiguous run of the loop (the
    first ones a chunk more when they do not divide evenly); in this order the
    run of thread ``t`` is chunks ``t``, ``t + threads``, ... . The last chunks
    cost less (the part chunk at the end, the newest rows): measured on one
    thread at 1.21M rows, 19 chunks, the busier of two threads had 45.9 ms of
    81.2 in chunk order, 41.3 round robin (ideal 40.6).
    """
    order = np.empty(n_chunks, np.int64)
    j = 0
    for t in range(max(threads, 1)):
        for k in range(t, n_chunks, max(threads, 1)):
            order[j] = k
            j += 1
    return order


@numba.njit(inline="always")
def _in_order(parts: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """The chunks' partial sums added in chunk order."""
    out = parts[0].copy()
    for k in range(1, parts.shape[0]):
        out += parts[k]
    return out


@numba.njit(inline="always")
def _odds_block(
    lo: int | np.uint64, hi: int | np.uint64, ids: np.ndarray, key: np.uint64, noise: np.ndarray,
    stage: np.ndarray,
    gap_points: float, yield_bump_bp: np.ndarray, price_sensitivity: np.ndarray,
    satisfaction_base: np.ndarray, wait_minutes: np.ndarray, complaints: np.ndarray,
    wallet_propensity: np.ndarray, wallet_share_by_stage: np.ndarray,
    total_wealth: np.ndarray, response: np.ndarray, satisfaction: np.ndarray,
    share_of_wallet: np.ndarray, aum: np.ndarray, contacts: np.ndarray, products: np.ndarray,
    reference: np.ndarray, betas: np.ndarray, needs_exp: np.ndarray, contact_logs: np.ndarray,
    u: np.ndarray, logs: np.ndarray, odds: np.ndarray, rows: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """Rows ``lo:hi``'s response, transition draws and log-odds, in loops without branches.

    Writes the response (:func:`_respond_row`), ``u[j]`` = row ``lo + j``'s
    keyed draw, and into ``odds[j * width + k]`` (``width`` = ``betas.shape[1]``)
    move ``k``'s log-odds where ``needs_exp`` (the caller then takes their exp,
    in a tight loop over the ``m`` slots listed in ``rows[:m]``; returns ``m``),
    otherwise 1 + log-odds: a move whose betas are all zero has log-odds ±0 (NaN
    if a driver is NaN or infinite), and 1 + ±0 = exp(±0) = 1 exactly. At 1.2M rows of
    playbook_branches that skips 0.8M of 2.2M exps. The same arithmetic as
    :func:`_drivers` and :func:`_next_stage` (bit for bit), in an order the
    processor runs faster: the draws' hash and the response in loops of their own;
    log(1 + contacts) from a table of whole counts (:func:`_contact_logs`, with
    ``contact_logs`` from :func:`whole_logs`).
    """
    for i in range(lo, hi):
        u[i - lo] = _uniform(ids[i], key)
    _contact_logs(lo, hi, contacts, contact_logs, logs)
    for i in range(lo, hi):  # a loop of its own (measured: 84 -> 78.5 ms a month)
        _respond_row(i, noise[i], stage[i], gap_points, yield_bump_bp, price_sensitivity,
                     satisfaction_base, wait_minutes, complaints, wallet_propensity,
                     wallet_share_by_stage, total_wealth, response, satisfaction,
                     share_of_wallet, aum)
    m, width = 0, betas.shape[1]
    for i in range(lo, hi):
        a = stage[i]
        x0 = float(satisfaction[i]) - reference[0]
        x1 = float(share_of_wallet[i]) - reference[1]
        x2 = ((gap_points - float(yield_bump_bp[i]) / 100.0) * float(price_sensitivity[i])
              - reference[2])
        x3 = logs[i - lo] - reference[3]
        x4 = float(wait_minutes[i]) - reference[4]
        x5 = float(complaints[i]) - reference[5]
        x6 = float(products[i]) - reference[6]
        at = np.int64(i - lo) * width
        for k in range(width):
            eta = _eta(betas, a, k, x0, x1, x2, x3, x4, x5, x6)
            odds[at + k] = eta if needs_exp[a, k] else 1.0 + eta
            rows[m] = at + k
            m += needs_exp[a, k]
    return m


@numba.njit(inline="always")
def _tier(bounds: np.ndarray, value: float) -> int:  # pragma: no cover - compiled
    """``np.searchsorted(bounds, value, side="right") - 1`` for sorted ``bounds``, branch-free.

    The number of bounds at or below ``value``, less one: a binary search's
    branches on AUM mispredict (measured: 9 ms of 94 at 1.2M rows, one thread).
    NaN sorts last, as in NumPy.
    """
    if value != value:
        return bounds.shape[0] - 1
    count = 0
    for j in range(bounds.shape[0]):
        count += bounds[j] <= value
    return count - 1


@numba.njit(inline="always")
def _count_any(
    i: int, s: int, role: int, segment: np.ndarray, tier: np.ndarray, channel: np.ndarray,
    by_stage: np.ndarray, by_segment: np.ndarray, by_tier: np.ndarray, by_channel: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """The census's counts by row (``tests/sim/census_reference.py``), branch-free on the role.

    ``by_segment``, ``by_tier`` and ``by_channel`` count code ``c`` in slot
    ``c + 1``; rows the census does not count (not customers, or no segment or
    tier yet) go to slot 0, which the caller drops (the branches mispredict on
    the 17% of rows that are not customers: measured 7.5 ms of 102 at 1.2M rows,
    one thread). The caller adds the head counts and sums.
    """
    customer = role == 1
    by_stage[s] += 1
    by_segment[max(segment[i] + 1, 0) if customer else 0] += 1
    by_tier[max(tier[i] + 1, 0) if customer else 0] += 1
    by_channel[channel[i] + 1 if customer else 0] += 1
