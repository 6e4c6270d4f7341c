"""Compiled loops for the hottest per-row work (Numba).

NumPy evaluates an expression such as SplitMix64 hashing one operation at a
time, each writing a temporary array the size of the population; a month
makes a few dozen such draws. The loops here do the whole computation per row
in one pass, in parallel over the machine's cores (``prange``), with exactly
the arithmetic of the NumPy definitions they replace, so results are
bit-identical whichever path runs. ``cache=True`` stores the machine code
next to the module, so only the first run on a machine pays the compilation
(about a second).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["keyed_normal_into", "keyed_uniform_into"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_SCALE = 2.0**-53

#: Rows per chunk of the chunked parallel loops: fixed, so sums are added in the same order
#: whatever the number of threads.
CHUNK = 1 << 16


# Wichura's algorithm AS 241 (PPND16, Applied Statistics 37, 1988): the inverse normal
# CDF to about 1e-16 relative error — within a few ulps of scipy.special.ndtri (tested) —
# as rational functions the compiler can inline (a call into SciPy's C code cannot be).
_A = (3.387132872796366608, 133.14166789178437745, 1971.5909503065514427,
      13731.693765509461125, 45921.953931549871457, 67265.770927008700853,
      33430.575583588128105, 2509.0809287301226727)
_B = (1.0, 42.313330701600911252, 687.1870074920579083, 5394.1960214247511077,
      21213.794301586595867, 39307.89580009271061, 28729.085735721942674,
      5226.495278852545925)
_C = (1.42343711074968357734, 4.6303378461565452959, 5.7694972214606914055,
      3.64784832476320460504, 1.27045825245236838258, 0.24178072517745061177,
      0.0227238449892691845833, 7.7454501427834140764e-4)
_D = (1.0, 2.05319162663775882187, 1.6763848301838038494, 0.68976733498510000455,
      0.14810397642748007459, 0.0151986665636164571966, 5.475938084995344946e-4,
      1.05075007164441684324e-9)
_E = (6.6579046435011037772, 5.4637849111641143699, 1.7848265399172913358,
      0.29656057182850489123, 0.026532189526576123093, 0.0012426609473880784386,
      2.71155556874348757815e-5, 2.01033439929228813265e-7)
_F = (1.0, 0.59983220655588793769, 0.13692988092273580531, 0.0148753612908506148525,
      7.868691311456132591e-4, 1.8463183175100546818e-5, 1.4215117583164458887e-7,
      2.04426310338993978564e-15)


@numba.njit(inline="always")
def _poly(c: tuple[float, ...], x: float) -> float:  # pragma: no cover - compiled
    return ((((((c[7] * x + c[6]) * x + c[5]) * x + c[4]) * x + c[3]) * x + c[2]) * x
            + c[1]) * x + c[0]


@numba.njit(inline="always")
def _ndtri(p: float) -> float:  # pragma: no cover - compiled
    """Standard normal quantile of ``p`` in (0, 1) (AS 241)."""
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        return q * _poly(_A, r) / _poly(_B, r)
    r = np.sqrt(-np.log(p if q < 0 else 1.0 - p))
    if r <= 5.0:
        r = r - 1.6
        value = _poly(_C, r) / _poly(_D, r)
    else:
        r = r - 5.0
        value = _poly(_E, r) / _poly(_F, r)
    return -value if q < 0 else value


@numba.njit(inline="always")
def _mix(z: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    z = z + _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@numba.njit(inline="always")
def _uniform(customer_id: np.int64, key: np.uint64) -> float:  # pragma: no cover - compiled
    bits = _mix(_mix(np.uint64(customer_id) ^ key))
    return (float(bits >> _S11) + 0.5) * _SCALE


@numba.njit(parallel=True, cache=True, nogil=True)
def keyed_uniform_into(ids: np.ndarray, key: np.uint64, out: np.ndarray) -> None:
    """``out[i]`` = the U(0, 1) draw of ``ids[i]`` under ``key`` (see :mod:`sim.streams`)."""
    for i in numba.prange(ids.shape[0]):
        out[i] = _uniform(ids[i], key)


@numba.njit(parallel=True, cache=True, nogil=True)
def keyed_normal_into(ids: np.ndarray, key: np.uint64, out: np.ndarray) -> None:
    """``out[i]`` = ``ndtri`` of the U(0, 1) draw of ``ids[i]`` under ``key``."""
    for i in numba.prange(ids.shape[0]):
        out[i] = _ndtri(_uniform(ids[i], key))


@numba.njit(parallel=True, cache=True, nogil=True)
def cohort_tallies(
    cohorts: np.ndarray, live: np.ndarray, aum: np.ndarray, revenue: np.ndarray, cost: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled
    """Cohort tallies of every strategy (a row of ``cohorts`` each), shape (strategies, 3, 4).

    Per cohort code: live members, their AUM, and all members' revenue and
    cost. Parallel over fixed chunks of rows, the chunks' sums added in chunk
    order: the same totals on any number of threads.
    """
    n_strategies, n = cohorts.shape
    n_chunks = (n + CHUNK - 1) // CHUNK
    parts = np.zeros((n_chunks, n_strategies, 3, 4))
    for chunk in numba.prange(n_chunks):
        part = parts[chunk]
        for k in range(n_strategies):
            for i in range(chunk * CHUNK, min(n, (chunk + 1) * CHUNK)):
                c = cohorts[k, i]
                if c == 0:
                    continue
                if live[i]:
                    part[k, c, 0] += 1.0
                    part[k, c, 1] += aum[i]
                part[k, c, 2] += revenue[i]
                part[k, c, 3] += cost[i]
    out = np.zeros((n_strategies, 3, 4))
    for chunk in range(n_chunks):
        out += parts[chunk]
    return out


@numba.njit(inline="always")
def _eta(betas: np.ndarray, s: int, k: int, x0: float, x1: float, x2: float, x3: float,
         x4: float, x5: float, x6: float) -> float:  # pragma: no cover - compiled
    return (betas[s, k, 0] * x0 + betas[s, k, 1] * x1 + betas[s, k, 2] * x2
            + betas[s, k, 3] * x3 + betas[s, k, 4] * x4 + betas[s, k, 5] * x5
            + betas[s, k, 6] * x6)


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
    scratch: np.ndarray,
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
        scratch: Work space, one row of move weights per thread
            (``numba.get_num_threads()`` rows, as many columns as ``base``).
        out: The new stage per row (written).
    """
    keyed_here = 1 if uniforms.shape[0] == 0 else 0
    for i in numba.prange(stage.shape[0]):
        s = stage[i]
        u = uniforms[i] if keyed_here == 0 else _uniform(ids[i], key)
        chosen = s
        moves = n_moves[s]
        if moves > 0 and not has_drivers[s]:
            for k in range(moves):  # the Markov chain: first move whose running sum exceeds u
                if u < cumulative[s, k]:
                    chosen = targets[s, k]
                    break
        elif moves > 0:
            if from_columns:
                x0 = float(satisfaction[i]) - reference[0]
                x1 = float(share_of_wallet[i]) - reference[1]
                x2 = ((gap_points - float(yield_bump_bp[i]) / 100.0)
                      * float(price_sensitivity[i]) - reference[2])
                x3 = (np.log1p(float(contacts[i])) if contacts[i] > 0 else 0.0) - reference[3]
                x4 = float(wait_minutes[i]) - reference[4]
                x5 = float(complaints[i]) - reference[5]
                x6 = float(products[i]) - reference[6]
            else:
                x0, x1, x2 = float(satisfaction[i]), float(share_of_wallet[i]), float(
                    yield_bump_bp[i])
                x3, x4, x5 = float(contacts[i]), float(wait_minutes[i]), float(complaints[i])
                x6 = float(products[i])
            weight = scratch[numba.get_thread_id()]
            denom = stay[s]
            for k in range(moves):
                weight[k] = base[s, k] * np.exp(_eta(betas, s, k, x0, x1, x2, x3, x4, x5, x6))
                denom += weight[k]
            threshold = 0.0
            for k in range(moves):
                lower = threshold
                threshold += weight[k] / denom
                if lower <= u < threshold:
                    chosen = targets[s, k]
                    break
        out[i] = chosen


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
    (price_effect, wait_effect, complaint_effect, tolerance, noise_sd, adjustment,
     wallet_sat_effect, wallet_gap_effect, wallet_adjustment, reference) = (
        params[0], params[1], params[2], params[3], params[4], params[5], params[6],
        params[7], params[8], params[9])
    for i in numba.prange(ids.shape[0]):
        gap = (gap_points - yield_bump_bp[i] / 100.0) * price_sensitivity[i]
        target = satisfaction_base[i] + price_effect * gap
        target += wait_effect * max(wait_minutes[i] - tolerance, 0.0)
        target += complaint_effect * complaints[i]
        noise = noise_sd * _ndtri(_uniform(ids[i], key))
        sat = float(satisfaction[i])
        sat = min(max(sat + adjustment * (target - sat) + noise, 0.0), 1.0)
        satisfaction[i] = sat
        wallet = wallet_propensity[i] * wallet_share_by_stage[stage[i]]
        wallet *= 1.0 + wallet_sat_effect * (float(satisfaction[i]) - reference)
        if wallet > 0:
            wallet += wallet_gap_effect * gap
        wallet = min(max(wallet, 0.0), 1.0)
        sow = float(share_of_wallet[i])
        sow = min(max(sow + wallet_adjustment * (wallet - sow), 0.0), 1.0)
        share_of_wallet[i] = sow
        aum[i] = total_wealth[i] * share_of_wallet[i]


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
        acquisition = acquisition_cost if acquired[i] else 0.0
        transaction = inflow[i] / 10_000.0 * per_10k[c]
        interest = fees = serving = 0.0
        if customers[i]:
            interest = aum[i] * margin_month
            fees = products[i] * fee
            serving = servicing[c]
        revenue[i] = interest + fees
        cost[i] = serving + transaction + acquisition
        interest_total += interest
        fees_total += fees
        acquisition_total += acquisition
        by_servicing[c] += serving
        by_transaction[c] += transaction
    return interest_total, fees_total, acquisition_total, by_servicing, by_transaction


@numba.njit(cache=True, nogil=True)
def masked_sum(values: np.ndarray, mask: np.ndarray) -> float:  # pragma: no cover - compiled
    """Sum of ``values`` where ``mask`` (sequential: the same total on any machine)."""
    total = 0.0
    for i in range(values.shape[0]):
        if mask[i]:
            total += values[i]
    return total


@numba.njit(cache=True, nogil=True)
def census(
    stage: np.ndarray, roles: np.ndarray, segment: np.ndarray, tier: np.ndarray,
    channel: np.ndarray, is_initial: np.ndarray, aum: np.ndarray, satisfaction: np.ndarray,
    share_of_wallet: np.ndarray, contacts: np.ndarray, sizes: np.ndarray, threshold: float,
) -> tuple[np.ndarray, ...]:  # pragma: no cover - compiled
    """The month's head counts and sums in one pass.

    Args:
        stage: Stage per row; ``roles`` per stage: 0 prospect, 1 customer, 2 absorbing.
        roles: See ``stage``.
        segment: Segment code per row (customers: 0-3).
        tier: AUM tier code per row.
        channel: Channel code per row.
        is_initial: Whether the row was in the bank at month 0.
        aum: AUM per row; summed over customers (likewise the next three).
        satisfaction: See ``aum``.
        share_of_wallet: See ``aum``.
        contacts: See ``aum``.
        sizes: Numbers of stages, segments, tiers and channels.
        threshold: Private-banking AUM threshold.

    Returns:
        Counts by stage (all rows), by segment, tier and channel (customers);
        ``[customers, prospects, initial customers active, private banking]``;
        and ``[AUM, satisfaction, share of wallet, contacts]`` summed over customers.
    """
    by_stage = np.zeros(sizes[0], np.int64)
    by_segment = np.zeros(sizes[1], np.int64)
    by_tier = np.zeros(sizes[2], np.int64)
    by_channel = np.zeros(sizes[3], np.int64)
    heads = np.zeros(4, np.int64)
    sums = np.zeros(4)
    for i in range(stage.shape[0]):
        s = stage[i]
        by_stage[s] += 1
        role = roles[s]
        if role == 0:
            heads[1] += 1
        elif role == 1:
            heads[0] += 1
            if is_initial[i]:
                heads[2] += 1
            if segment[i] >= 0:
                by_segment[segment[i]] += 1
            if tier[i] >= 0:
                by_tier[tier[i]] += 1
            by_channel[channel[i]] += 1
            if aum[i] >= threshold:
                heads[3] += 1
            sums[0] += aum[i]
            sums[1] += satisfaction[i]
            sums[2] += share_of_wallet[i]
            sums[3] += contacts[i]
    return by_stage, by_segment, by_tier, by_channel, heads, sums


@numba.njit(parallel=True, cache=True, nogil=True)
def drift_rows(
    ids: np.ndarray, key: np.uint64, mu: float, sigma: float, total_wealth: np.ndarray,
    age: np.ndarray, share_of_wallet: np.ndarray, aum: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """One month of the wealth random walk per row (keyed normal shock), age, and AUM."""
    for i in numba.prange(ids.shape[0]):
        total_wealth[i] *= np.exp(mu + sigma * _ndtri(_uniform(ids[i], key)))
        age[i] += 1.0 / 12.0
        aum[i] = total_wealth[i] * share_of_wallet[i]


@numba.njit(parallel=True, cache=True, nogil=True)
def payments_rows(
    ids: np.ndarray, key: np.uint64, stage: np.ndarray, is_customer_stage: np.ndarray,
    activity_rate: np.ndarray, payment_share: float, new_year: bool,
    payments_month: np.ndarray, payments_ytd: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Customers' payments this month: the expected number rounded up or down by a keyed draw."""
    for i in numba.prange(ids.shape[0]):
        paid = 0
        if is_customer_stage[stage[i]]:
            paid = int(np.floor(activity_rate[i] * payment_share + _uniform(ids[i], key)))
        payments_month[i] = paid
        payments_ytd[i] = (0 if new_year else payments_ytd[i]) + paid


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
        a, b = old[i], new[i]
        moved = a != b
        from_prospect = roles[a] == 0
        became = from_prospect and roles[b] == 1
        if moved and roles[b] == 2:
            if roles[a] == 1:
                n_churned += 1
                aum_churned += aum[i]
                if not was_customer[i]:
                    aum_churned_new += aum[i]
            elif from_prospect:
                n_lapsed += 1
            aum[i] = 0.0
            share_of_wallet[i] = 0.0
            absorbed_month[i] = month
        if became:
            products[i] = 1
        months_in_stage[i] = 0 if moved else months_in_stage[i] + 1
        if roles[b] == 1:
            tenure[i] += 1
        arrived = entered_month[i] == month and roles[entry_stage[i]] == 1
        acquired[i] = became or arrived
        if acquired[i]:
            n_acquired += 1
    return n_acquired, n_churned, n_lapsed, aum_churned, aum_churned_new


@numba.njit(cache=True, nogil=True)
def stable_argsort(key: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """``np.argsort(key, kind="stable")`` for float64 keys without NaN, by LSD radix sort.

    Each key's bits are mapped to an unsigned integer in the same order (sign
    flipped for positives, all bits for negatives; -0.0 counts as 0.0), then
    sorted 16 bits at a time, four stable counting passes.
    """
    n = key.shape[0]
    bits = np.empty(n, np.uint64)
    for i in range(n):
        value = key[i] + 0.0  # -0.0 -> 0.0, as numpy compares them equal
        b = np.uint64(np.float64(value).view(np.uint64))
        if b >> np.uint64(63):
            bits[i] = ~b
        else:
            bits[i] = b | np.uint64(1 << 63)
    order = np.arange(n)
    other = np.empty(n, np.int64)
    count = np.zeros(65537, np.int64)
    for shift in range(0, 64, 16):
        count[:] = 0
        s = np.uint64(shift)
        for i in range(n):
            count[((bits[order[i]] >> s) & np.uint64(0xFFFF)) + np.uint64(1)] += 1
        for d in range(1, 65537):
            count[d] += count[d - 1]
        for i in range(n):
            digit = (bits[order[i]] >> s) & np.uint64(0xFFFF)
            other[count[digit]] = order[i]
            count[digit] += 1
        order, other = other, order
    return order


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
def branch_visits(
    customers: np.ndarray, channel: np.ndarray, activity_rate: np.ndarray, ids: np.ndarray,
    key: np.uint64, visit_rate: np.ndarray, elasticity: float,
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """This month's branch visitors and their visits (see ``ChannelSystem.serve``).

    A customer of channel c may visit at ``visit_rate[c]`` a month, scaled by
    activity^elasticity over its channel's mean of that (so each channel keeps
    its calibrated mean); the expected count is rounded up or down by the
    customer's keyed draw under ``key``. Parallel over fixed chunks of rows:
    per-chunk sums are added in chunk order and visitors are written in row
    order, so the result does not depend on the number of threads.

    Returns:
        The visitors' rows (table order) and their numbers of visits.
    """
    n, n_channels = customers.shape[0], visit_rate.shape[0]
    n_chunks = (n + CHUNK - 1) // CHUNK
    weight = np.zeros(n, np.float32)  # activity^elasticity, 0 for rows that cannot visit
    sums = np.zeros((n_chunks, n_channels))
    counts = np.zeros((n_chunks, n_channels), np.int64)
    for k in numba.prange(n_chunks):
        for i in range(k * CHUNK, min(n, (k + 1) * CHUNK)):
            c = channel[i]
            if customers[i] and visit_rate[c] > 0:
                w = float(activity_rate[i]) ** elasticity
                weight[i] = w
                sums[k, c] += w
                counts[k, c] += 1
    means = np.ones(n_channels)
    for c in range(n_channels):
        total, number = 0.0, 0
        for k in range(n_chunks):
            total += sums[k, c]
            number += counts[k, c]
        if number > 0 and total > 0:
            means[c] = total / number
    visits_all = np.zeros(n)
    found = np.zeros(n_chunks, np.int64)
    for k in numba.prange(n_chunks):
        for i in range(k * CHUNK, min(n, (k + 1) * CHUNK)):
            if weight[i] > 0:
                c = channel[i]
                v = np.floor(visit_rate[c] * float(weight[i]) / means[c] + _uniform(ids[i], key))
                if v > 0:
                    visits_all[i] = v
                    found[k] += 1
    start = np.zeros(n_chunks + 1, np.int64)
    for k in range(n_chunks):
        start[k + 1] = start[k] + found[k]
    rows = np.empty(start[n_chunks], np.int64)
    visits = np.empty(start[n_chunks])
    for k in numba.prange(n_chunks):
        j = start[k]
        for i in range(k * CHUNK, min(n, (k + 1) * CHUNK)):
            if visits_all[i] > 0:
                rows[j] = i
                visits[j] = visits_all[i]
                j += 1
    return rows, visits


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
        i = rows[j]
        youth = min(max((65.0 - age[i]) / 45.0, 0.0), 1.0)
        elsewhere = max(float(total_wealth[i]) - aum[i], 0.0)
        wealth = min(max((np.log10(1.0 + elsewhere) - 4.0) / 3.0, 0.0), 1.0)
        score = weights[0] * youth + weights[1] * digital_adoption[i] + weights[2] * wealth
        potential_value[i] = score
        high_current = aum[i] >= current_threshold
        if score >= potential_threshold:
            segment[i] = 1 if high_current else 0
        else:
            segment[i] = 2 if high_current else 3
