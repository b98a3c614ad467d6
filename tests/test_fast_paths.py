"""The shortcuts taken for speed give exactly what the plain numpy calls they replace give.

The core keeps results bit-identical for a seed through every optimisation; these property
tests pin the two helpers that replace numpy calls on hot paths.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from labor_stocks.world.repatriation import first_by_rank
from labor_stocks.world.workers import distinct


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-5, 300), max_size=200))
def test_distinct_is_numpy_unique(values):
    array = np.asarray(values, dtype=np.int64)
    assert distinct(array) == np.unique(array).tolist()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0])), max_size=120),
       st.integers(0, 130))
def test_first_by_rank_is_lexsort_even_with_ties(entries, count):
    ranks = np.array([r for r, _ in entries], dtype=np.int64)
    tiebreak = np.array([t for _, t in entries], dtype=float)
    expected = np.lexsort((tiebreak, ranks))[:count]
    assert first_by_rank(ranks, tiebreak, count).tolist() == expected.tolist()
