"""The engine's in-memory indexes give exactly what the SQL conditions give (CINECA UK1).

Plain range queries are answered from the position-sorted arrays instead of DuckDB; the
excerpt holds copy-number variants spanning thousands of bases, so ranges that only such a
long variant reaches are part of the draw.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from genomesh.beacon.context import DatasetContext
from genomesh.beacon.variants import parse_variant_query
from genomesh.store import NodeStore
from tests.beacon.helpers import CINECA_ID


@pytest.fixture(scope="module")
def context(cineca_node: NodeStore) -> DatasetContext:
    ctx = DatasetContext(cineca_node.dataset(CINECA_ID))
    yield ctx
    ctx.close()


def _by_sql(ctx: DatasetContext, chrom: str, start: int, end: int) -> np.ndarray:
    return ctx.variant_indices('chrom = ? AND start < ? AND "end" > ?', [chrom, end, start])


def test_range_lookup__agrees_with_sql_including_long_variants(context: DatasetContext) -> None:
    spans = (
        context.cursor()
        .execute('SELECT start, "end" FROM bx_variants WHERE "end" - start > 1000')
        .fetchall()
    )
    assert spans, "the excerpt should hold long (structural) variants"
    lo, hi = context.cursor().execute('SELECT min(start), max("end") FROM bx_variants').fetchone()
    rng = random.Random(7)
    ranges = [(s, s + rng.choice([1, 2, 50, 5_000, 100_000])) for s in
              (rng.randrange(lo - 10, hi + 10) for _ in range(300))]  # fmt: skip
    # ranges inside a long variant, past its start: only the long variant's end reaches them
    ranges += [(a + (b - a) // 2, a + (b - a) // 2 + 1) for a, b in spans]
    ranges += [(lo, lo + 1), (hi - 1, hi), (hi, hi + 10), (0, 1)]
    reached_from_before = 0  # hits that include a long variant starting before the range
    for start, end in ranges:
        fast = context.range_lookup("22", start, end)
        assert fast.tolist() == _by_sql(context, "22", start, end).tolist(), (start, end)
        if any(a < start < b for a, b in spans):
            reached_from_before += 1
    assert reached_from_before > 0
    assert context.range_lookup("19", lo, hi).tolist() == []  # another chromosome


def test_plain_range_query__uses_the_index_other_ranges_do_not() -> None:
    plain = parse_variant_query({"referenceName": "22", "start": [100], "end": [200]})
    assert plain.range_lookup == ("22", 100, 200)
    typed = parse_variant_query(
        {"referenceName": "22", "start": [100], "end": [200], "variantType": "SNV"}
    )
    assert typed.range_lookup is None  # narrowed: answered by SQL
    bracket = parse_variant_query({"referenceName": "22", "start": [1, 5], "end": [9, 12]})
    assert bracket.range_lookup is None
