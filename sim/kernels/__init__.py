"""Compiled loops for the hottest per-row work (Numba).

NumPy evaluates an expression such as SplitMix64 hashing one operation at a
time, each writing a temporary array the size of the population; a month
makes a few dozen such passes. The loops here do the whole computation per
row in one pass, many in parallel over the machine's cores (``prange``), with
the arithmetic of the NumPy definitions they replace (each is tested against
its definition). ``cache=True`` stores the machine code in
``sim/kernels/__pycache__``, so only the first run on a machine pays the
compilation (about 7 s).

* :mod:`sim.kernels.draws` — keyed uniform and normal draws;
* :mod:`sim.kernels.market` — the market: wealth walk, age, AUM, payments;
* :mod:`sim.kernels.month` — response, transitions, classes, ledger;
* :mod:`sim.kernels.close` — the month after the channels in one pass (the
  phases of ``month`` and ``tallies`` fused);
* :mod:`sim.kernels.tallies` — census, masked sums, cohort tallies;
* :mod:`sim.kernels.allocation` — budget priority order, branch visitors,
  a strategy's rows copied out and back;
* :mod:`sim.kernels.order_prefix` — the first rows of a priority order at equal costs, unsorted;
* :mod:`sim.kernels.rm_fit` — RM minutes for customers every branch has time for;
* :mod:`sim.kernels.targeting` — a strategy's targets, hold-out and treated rows;
* :mod:`sim.kernels.packing` — flagged rows' indices packed sixteen at a time;
* :mod:`sim.kernels.visits` — branch visitors' loads, desks, simulated visits and waits;
* :mod:`sim.kernels.channels_complaints` — who may complain after a visit or a failed contact;
* :mod:`sim.kernels.compact` — the table's compaction (kept rows moved in place);
* :mod:`sim.kernels.choice` — new customers' preferred channel;
* :mod:`sim.kernels.strategy_rows` — built-in strategies' look-ups and masks;
* :mod:`sim.kernels.poisson` — new customers' Poisson draws (NumPy's, for small means).

Numba's cache notices a change to a kernel's own module only, but kernels
inline helpers from other modules here (``draws``, ``month``, ``tallies``).
So the cache is keyed by all of this package's sources together: when any of
them differs from the cache's (a stamp file beside it), the compiled files
are deleted before anything is loaded, and the kernels compile afresh.
"""

from sim.kernels import _cache  # noqa: F401  (first: drops a stale compiled cache)
from sim.kernels.allocation import (
    add_masked,
    allocate_minutes,
    branch_visits,
    fits_in_order,
    gather,
    gather_dense,
    gather_into,
    in_order,
    refuse_minutes,
    scatter,
    stable_argsort,
)
from sim.kernels.channels_complaints import channel_values, complaint_candidates
from sim.kernels.choice import channel_choice
from sim.kernels.close import FLOW_NAMES, close_month
from sim.kernels.compact import keep_in_place
from sim.kernels.draws import AS241, keyed_normal_into, keyed_uniform_into
from sim.kernels.market import market_rows
from sim.kernels.month import (
    book_rows,
    respond_rows,
    segment_rows,
    settle_transitions,
    tiers_rows,
    transition_stages,
)
from sim.kernels.order_prefix import branch_prefixes, first_in_order, prefix_length, same_bits
from sim.kernels.packing import pack16
from sim.kernels.poisson import poisson_multiplication
from sim.kernels.rm_fit import allocate_if_all_fit
from sim.kernels.strategy_rows import (
    accepted,
    below_counts,
    lut_rows,
    lut_values,
    opt_out_rows,
    scaled_gap,
    true_rows,
    voucher_rows,
)
from sim.kernels.tallies import CHUNK, census, cohort_tallies, masked_sum
from sim.kernels.targeting import target_codes, target_rows
from sim.kernels.visits import joined_wait_quantile, visit_outcomes, visitor_loads

__all__ = [
    "AS241",
    "CHUNK",
    "FLOW_NAMES",
    "accepted",
    "add_masked",
    "allocate_if_all_fit",
    "allocate_minutes",
    "below_counts",
    "book_rows",
    "branch_prefixes",
    "branch_visits",
    "census",
    "channel_choice",
    "channel_values",
    "close_month",
    "cohort_tallies",
    "complaint_candidates",
    "first_in_order",
    "fits_in_order",
    "gather",
    "gather_dense",
    "gather_into",
    "in_order",
    "joined_wait_quantile",
    "keep_in_place",
    "keyed_normal_into",
    "keyed_uniform_into",
    "lut_rows",
    "lut_values",
    "market_rows",
    "masked_sum",
    "opt_out_rows",
    "pack16",
    "poisson_multiplication",
    "prefix_length",
    "refuse_minutes",
    "respond_rows",
    "same_bits",
    "scaled_gap",
    "scatter",
    "segment_rows",
    "settle_transitions",
    "stable_argsort",
    "target_codes",
    "target_rows",
    "tiers_rows",
    "transition_stages",
    "true_rows",
    "visit_outcomes",
    "visitor_loads",
    "voucher_rows",
]
