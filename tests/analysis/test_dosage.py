"""Calls to dosages: the compiled pass equals the NumPy rule of `DatasetStore.genotypes`."""

from __future__ import annotations

import numpy as np

from genomesh.analysis.dosage import dosage_block


def test_dosage_block__equals_numpy_rule() -> None:
    rng = np.random.default_rng(3)
    # alleles 0/1/2 (a second ALT is not the ALT), -1 missing, -2 fill (mixed ploidy)
    calls = rng.choice(np.array([0, 0, 0, 1, 1, 2, -1, -2], np.int8), size=(57, 43, 2))
    alt = (calls == 1).sum(axis=2, dtype=np.int8)
    alt[~(calls >= 0).any(axis=2)] = -1
    got = dosage_block(calls)
    assert got.dtype == np.int8
    np.testing.assert_array_equal(got, alt)
    assert (got == -1).any() and (got == 2).any()  # both edge cases occur
    # a non-contiguous view (a subset of samples, as the node's allowed columns)
    np.testing.assert_array_equal(dosage_block(calls[:, ::3]), alt[:, ::3])
