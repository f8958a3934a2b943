"""Small simulated cohorts for tests (yours and genomesh's), fast and cached per session.

    from genomesh.testing.cohorts import small_cohort, shared_cohort

    def test_something(tmp_path):
        cohort = small_cohort(tmp_path)             # 60 people × 200 kb, ~0.2 s, fresh copy
        ingest(cohort.vcf, individuals=cohort.individuals, consent=cohort.consent)

    @pytest.fixture(scope="session")
    def cohort():
        return shared_cohort()                      # simulated once per process, read-only

`shared_cohort(**options)` caches by its options in a temporary folder removed at exit; treat
its files as read-only (copy them, or use `small_cohort(tmp_path)`, if a test modifies them).
Needs the `simulate` extra (msprime); `requires_msprime` is a pytest skip marker for code that
must also run without it.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from genomesh.simulate.cohort import CohortFiles, simulate_cohort

SMALL_DEFAULTS: dict[str, Any] = {
    "n_individuals": 60,
    "length": 200_000,
    "seed": 7,
    "populations": ("AFR", "EUR", "EAS"),
    "country": "NL",
}

_lock = threading.Lock()
_cache: dict[tuple[tuple[str, str], ...], CohortFiles] = {}
_root: Path | None = None


def small_cohort(tmp_dir: str | Path, **options: Any) -> CohortFiles:
    """Simulate a small cohort (60 individuals, 200 kb, seed 7, NL unless overridden) into `tmp_dir`.

    Writes into `tmp_dir/cohort` so `tmp_dir` itself may already hold other files.
    """
    kwargs = {**SMALL_DEFAULTS, **options}
    return simulate_cohort(Path(tmp_dir) / "cohort", overwrite=True, **kwargs)


def _cache_root() -> Path:
    global _root
    if _root is None:
        _root = Path(tempfile.mkdtemp(prefix="genomesh-cohorts-"))
        atexit.register(shutil.rmtree, _root, True)
    return _root


def shared_cohort(**options: Any) -> CohortFiles:
    """The small cohort for these options, simulated once per process (read-only: do not edit)."""
    kwargs = {**SMALL_DEFAULTS, **options}
    key = tuple(sorted((k, repr(v)) for k, v in kwargs.items()))
    with _lock:
        if key not in _cache:
            folder = _cache_root() / f"cohort-{len(_cache):03d}"
            _cache[key] = simulate_cohort(folder, **kwargs)
        return _cache[key]


def msprime_available() -> bool:
    """True when the optional simulation dependencies are importable."""
    try:
        import msprime  # noqa: F401
    except ImportError:
        return False
    return True


def requires_msprime() -> Any:
    """A pytest skip marker for tests that need msprime (the `simulate` extra)."""
    import pytest

    return pytest.mark.skipif(not msprime_available(), reason="needs genomesh[simulate] (msprime)")


__all__ = [
    "SMALL_DEFAULTS",
    "msprime_available",
    "requires_msprime",
    "shared_cohort",
    "small_cohort",
]
