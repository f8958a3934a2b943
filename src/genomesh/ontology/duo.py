"""The GA4GH Data Use Ontology (DUO), loaded from the release packaged with genomesh.

The packaged `data/duo/duo.owl` (release v2021-02-23, CC BY 4.0) is parsed once per process,
lazily. Terms are keyed by their `oboInOwl:id`, never by IRI: the release's IRI for NPOA
(DUO:0000044) has a typo (`DUO_00000044`), so keying by IRI would lose that term.

    duo = get_duo()
    duo.term("DUO:0000007").shorthand        # "DS"
    duo.is_a("DS", "GRU")                    # True: GRU ⊃ HMB ⊃ DS
    duo.resolve("NPOA")                      # "DUO:0000044"
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from genomesh.core.errors import UnknownTermError

Branch = Literal["permission", "modifier", "investigation", "obsolete", "other"]

_NS = {
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "oboInOwl": "http://www.geneontology.org/formats/oboInOwl#",
    "obo": "http://purl.obolibrary.org/obo/",
}
_RDF_ABOUT = f"{{{_NS['rdf']}}}about"
_RDF_RESOURCE = f"{{{_NS['rdf']}}}resource"
_OBO = "http://purl.obolibrary.org/obo/"

PERMISSION_ROOT = "DUO:0000001"  # data use permission
MODIFIER_ROOT = "DUO:0000017"  # data use modifier
INVESTIGATION_ROOT = "OBI:0000066"  # investigation (purpose-typing placeholder classes)
OBSOLETE_ROOT = "oboInOwl:ObsoleteClass"
RELEASE = "2021-02-23"
ATTRIBUTION = (
    "Data Use Ontology (DUO) release 2021-02-23, by the contributors to the GA4GH Data Use "
    "Ontology workstream (creator Melanie Courtot), licensed under CC BY 4.0 "
    "(https://creativecommons.org/licenses/by/4.0/); https://github.com/EBISPOT/DUO"
)


@dataclass(frozen=True)
class DuoTerm:
    """One DUO class: code, shorthand (GRU, HMB ...), label, definition and hierarchy."""

    id: str
    shorthand: str | None
    label: str
    definition: str | None
    parents: tuple[str, ...]
    ancestors: frozenset[str]
    obsolete: bool
    branch: Branch
    iri: str

    @property
    def display(self) -> str:
        """`DS (DUO:0000007, disease specific research)` — for reasons shown to people."""
        head = f"{self.shorthand} ({self.id}" if self.shorthand else f"{self.id} ("
        sep = ", " if self.shorthand else ""
        return f"{head}{sep}{self.label})"


def _iri_to_curie(iri: str) -> str:
    """`http://purl.obolibrary.org/obo/IAO_0000027` -> `IAO:0000027` (fallback for non-DUO)."""
    if iri.startswith(_OBO):
        local = iri[len(_OBO) :]
        prefix, _, rest = local.partition("_")
        return f"{prefix}:{rest}" if rest else local
    if iri.startswith(_NS["oboInOwl"]):
        return "oboInOwl:" + iri[len(_NS["oboInOwl"]) :]
    return iri


def _text(element: ET.Element, tag: str) -> str | None:
    found = element.find(tag, _NS)
    return found.text.strip() if found is not None and found.text else None


class Duo:
    """DUO terms with their hierarchy; build with `get_duo()` (cached)."""

    def __init__(self, owl_path: Path | str) -> None:
        root = ET.parse(owl_path).getroot()
        ontology = root.find("owl:Ontology", _NS)
        version_iri = ontology.find("owl:versionIRI", _NS) if ontology is not None else None
        self.version_iri = version_iri.get(_RDF_RESOURCE, "") if version_iri is not None else ""
        self.version = RELEASE if RELEASE in self.version_iri else self.version_iri
        raw: dict[str, tuple[str, str | None, str, str | None, list[str], bool]] = {}
        iri_to_id: dict[str, str] = {}
        for cls in root.findall("owl:Class", _NS):
            iri = cls.get(_RDF_ABOUT)
            code = _text(cls, "oboInOwl:id")
            if not iri or not code or not code.startswith("DUO:"):
                continue
            iri_to_id[iri] = code
            parents = [
                sub.get(_RDF_RESOURCE, "")
                for sub in cls.findall("rdfs:subClassOf", _NS)
                if sub.get(_RDF_RESOURCE)
            ]
            deprecated = (_text(cls, "owl:deprecated") or "").lower() == "true"
            raw[code] = (
                iri,
                _text(cls, "oboInOwl:shorthand"),
                _text(cls, "rdfs:label") or code,
                _text(cls, "obo:IAO_0000115"),
                parents,
                deprecated,
            )
        parent_ids = {
            code: tuple(iri_to_id.get(p, _iri_to_curie(p)) for p in entry[4])
            for code, entry in raw.items()
        }

        def ancestors_of(code: str, seen: frozenset[str] = frozenset()) -> frozenset[str]:
            out: set[str] = set()
            for parent in parent_ids.get(code, ()):
                if parent in seen:
                    continue
                out.add(parent)
                out |= ancestors_of(parent, seen | {code})
            return frozenset(out)

        self._terms: dict[str, DuoTerm] = {}
        for code, (iri, shorthand, label, definition, _, deprecated) in raw.items():
            ancestors = ancestors_of(code)
            obsolete = deprecated or OBSOLETE_ROOT in ancestors or label.startswith("obsolete")
            branch: Branch
            if obsolete:
                branch = "obsolete"
            elif code == PERMISSION_ROOT or PERMISSION_ROOT in ancestors:
                branch = "permission"
            elif code == MODIFIER_ROOT or MODIFIER_ROOT in ancestors:
                branch = "modifier"
            elif INVESTIGATION_ROOT in ancestors:
                branch = "investigation"
            else:
                branch = "other"
            self._terms[code] = DuoTerm(
                id=code,
                shorthand=shorthand,
                label=label,
                definition=definition,
                parents=parent_ids[code],
                ancestors=ancestors,
                obsolete=obsolete,
                branch=branch,
                iri=iri,
            )
        self._by_shorthand = {
            t.shorthand.upper(): t.id
            for t in self._terms.values()
            if t.shorthand and not t.obsolete
        }

    def __len__(self) -> int:
        return len(self._terms)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._terms.values())

    def resolve(self, code: str) -> str:
        """The DUO id for a code (`DUO:0000042`) or a shorthand (`GRU`); UnknownTermError if neither."""
        key = code.strip()
        if key in self._terms:
            return key
        if key.upper() in self._by_shorthand:
            return self._by_shorthand[key.upper()]
        raise UnknownTermError(f"unknown DUO term {code!r}", field="duo")

    def has(self, code: str) -> bool:
        """True for a known DUO id or shorthand (obsolete terms included: see `.term().obsolete`)."""
        try:
            self.resolve(code)
        except UnknownTermError:
            return False
        return True

    def term(self, code: str) -> DuoTerm:
        """The term for a DUO id or shorthand; raises UnknownTermError naming the code."""
        return self._terms[self.resolve(code)]

    def label(self, code: str) -> str:
        return self.term(code).label

    def is_a(self, code: str, ancestor: str) -> bool:
        """True if `code` is `ancestor` or a subclass of it (e.g. is_a("DS", "GRU"))."""
        term = self.term(code)
        target = self.resolve(ancestor)
        return term.id == target or target in term.ancestors

    def ancestors(self, code: str) -> frozenset[str]:
        """The term and every superclass (DUO and the IAO/OBI roots it hangs from)."""
        term = self.term(code)
        return term.ancestors | {term.id}

    def descendants(self, code: str) -> frozenset[str]:
        """The term and every DUO subclass of it."""
        target = self.resolve(code)
        return frozenset(
            t.id for t in self._terms.values() if t.id == target or target in t.ancestors
        )

    def permissions(self) -> list[DuoTerm]:
        """Usable (non-obsolete) data use permissions: GRU, HMB, DS, POA, NRES ..."""
        return [t for t in self._terms.values() if t.branch == "permission" and t.shorthand]

    def modifiers(self) -> list[DuoTerm]:
        """Usable (non-obsolete) data use modifiers: IRB, GS, PUB, MOR, TS, NPUNCU ..."""
        return [t for t in self._terms.values() if t.branch == "modifier" and t.shorthand]


_LOCK = threading.Lock()


def packaged_owl() -> Path:
    """Path of the DUO release shipped inside the genomesh package."""
    return Path(str(resources.files("genomesh.ontology").joinpath("data/duo/duo.owl")))


@cache
def _load() -> Duo:
    return Duo(packaged_owl())


def get_duo() -> Duo:
    """The packaged DUO, parsed on first use and shared by the whole process."""
    with _LOCK:
        return _load()


__all__ = ["ATTRIBUTION", "Duo", "DuoTerm", "get_duo", "packaged_owl"]
