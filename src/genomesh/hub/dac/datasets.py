"""The datasets the DAC governs: their URLs (the ControlledAccessGrants value) and DUO terms.

A dataset is named by `node` + `dataset_id` (as in the hub catalogue) or by its URL,
`{node base_url}/datasets/{dataset_id}`. The DAC keeps its own copy of each dataset it has
seen (so decisions stay explainable if the catalogue changes); unknown datasets are looked
up in the hub catalogue through the `DatasetCatalogue` protocol, or registered by a hub
admin (`PUT /dac/datasets`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from genomesh.core.consent import DataUseTerm
from genomesh.core.errors import InvalidInputError, NotFoundError
from genomesh.hub.dac.models import Dataset


def dataset_url(base_url: str, dataset_id: str) -> str:
    """The dataset's URL as the Passport spec wants it in ControlledAccessGrants."""
    return f"{base_url.rstrip('/')}/datasets/{dataset_id}"


class DatasetRef(BaseModel):
    """A dataset named by node + dataset id, or by URL."""

    model_config = ConfigDict(extra="forbid")

    node: str | None = Field(default=None, min_length=1, max_length=128)
    dataset_id: str | None = Field(default=None, min_length=1, max_length=128)
    url: str | None = Field(default=None, min_length=1, max_length=255)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        """Also accept the CLI spelling: `"NODE/DATASET_ID"` or a dataset URL string."""
        if isinstance(value, str):
            if "://" in value:
                return {"url": value}
            node, sep, dataset_id = value.partition("/")
            if not sep or not node or not dataset_id:
                raise ValueError(
                    f"dataset {value!r}: give a dataset URL, NODE/DATASET_ID, "
                    "or an object {node, dataset_id} / {url}"
                )
            return {"node": node, "dataset_id": dataset_id}
        return value

    @model_validator(mode="after")
    def _one_way(self) -> DatasetRef:
        if self.url is None and (self.node is None or self.dataset_id is None):
            raise ValueError("name a dataset by `url` or by both `node` and `dataset_id`")
        return self

    @classmethod
    def parse(cls, text: str) -> DatasetRef:
        """`https://node/datasets/ID` or `NODE/DATASET_ID` (the CLI spelling)."""
        if "://" in text:
            return cls(url=text)
        node, sep, dataset_id = text.partition("/")
        if not sep or not node or not dataset_id:
            raise InvalidInputError(
                f"dataset {text!r}: give a dataset URL or NODE/DATASET_ID", field="datasets"
            )
        return cls(node=node, dataset_id=dataset_id)


@dataclass(frozen=True)
class CatalogueEntry:
    """What the DAC needs to know about a dataset from the catalogue."""

    node: str
    dataset_id: str
    url: str
    name: str = ""
    duo: Sequence[DataUseTerm] = field(default_factory=tuple)
    terms_url: str | None = None
    jurisdiction: str | None = None  # ISO country of the node (whose rules apply)


@runtime_checkable
class DatasetCatalogue(Protocol):
    """Where the DAC looks up datasets it has not seen (the hub catalogue implements this)."""

    def lookup(self, ref: DatasetRef) -> CatalogueEntry | None: ...


class StaticCatalogue:
    """A fixed list of catalogue entries (tests, and hubs without a live catalogue)."""

    def __init__(self, entries: Iterable[CatalogueEntry] = ()) -> None:
        self._entries = list(entries)

    def add(self, entry: CatalogueEntry) -> None:
        self._entries.append(entry)

    def lookup(self, ref: DatasetRef) -> CatalogueEntry | None:
        for entry in self._entries:
            if ref.url is not None and entry.url == ref.url:
                return entry
            if ref.url is None and (entry.node, entry.dataset_id) == (ref.node, ref.dataset_id):
                return entry
        return None


def duo_terms(dataset: Dataset) -> list[DataUseTerm]:
    """The dataset's DUO terms as DataUseTerm objects."""
    return [DataUseTerm.model_validate(term) for term in dataset.duo or []]


def upsert_dataset(
    session: Session, entry: CatalogueEntry, *, committee: str | None = None
) -> Dataset:
    """Record (or refresh) a dataset from a catalogue entry."""
    row = session.get(Dataset, entry.url)
    if row is None:
        clash = session.scalar(
            select(Dataset).where(
                Dataset.node == entry.node, Dataset.dataset_id == entry.dataset_id
            )
        )
        if clash is not None:
            raise InvalidInputError(
                f"dataset {entry.node}/{entry.dataset_id} is already registered as {clash.url}",
                field="url",
            )
        row = Dataset(url=entry.url, node=entry.node, dataset_id=entry.dataset_id)
        session.add(row)
    row.name = entry.name or row.name or entry.dataset_id
    row.duo = [term.model_dump(mode="json") for term in entry.duo]
    row.terms_url = entry.terms_url
    if entry.jurisdiction:
        row.jurisdiction = entry.jurisdiction.upper()
    if committee is not None:
        row.committee = committee
    session.flush()
    return row


def find_dataset(session: Session, ref: DatasetRef) -> Dataset | None:
    """The DAC's record of a dataset, or None."""
    if ref.url is not None:
        return session.get(Dataset, ref.url)
    return session.scalar(
        select(Dataset).where(Dataset.node == ref.node, Dataset.dataset_id == ref.dataset_id)
    )


def resolve_dataset(
    session: Session, ref: DatasetRef, *, catalogue: DatasetCatalogue | None
) -> Dataset:
    """The dataset `ref` names: the DAC's record, else the catalogue's entry (then recorded).

    The DAC's own record wins, so terms an admin registered (with DS diseases and other
    modifiers the Beacon catalogue cannot carry) are what the pre-check uses.
    """
    row = find_dataset(session, ref)
    if row is not None:
        return row
    entry = catalogue.lookup(ref) if catalogue is not None else None
    if entry is None:
        name = ref.url or f"{ref.node}/{ref.dataset_id}"
        raise NotFoundError(
            f"unknown dataset {name} (not in the hub catalogue nor registered with the DAC)",
            field="datasets",
        )
    return upsert_dataset(session, entry)


_DISEASE_PREFIXES = ("MONDO:", "ORPHA:", "Orphanet:", "OMIM:", "DOID:", "ICD10:", "NCIT:")


def terms_from_catalogue(duo: Sequence[Mapping[str, Any]]) -> list[DataUseTerm]:
    """DataUseTerms from catalogue `duo` entries (`{"id", "label", "modifiers"?}`).

    Beacon's `dataUseConditions` carry DUO ids and modifier terms; disease modifiers become
    the DS diseases. Other modifier values cannot be carried and are left out (register the
    dataset with the DAC to give them).
    """
    terms = []
    for item in duo:
        code = item.get("id")
        if not isinstance(code, str) or not code.startswith("DUO:"):
            continue
        modifiers = [m.get("id") for m in item.get("modifiers") or [] if isinstance(m, Mapping)]
        diseases = tuple(
            m for m in modifiers if isinstance(m, str) and m.startswith(_DISEASE_PREFIXES)
        )
        try:
            terms.append(DataUseTerm(id=code, diseases=diseases))
        except ValueError:
            continue
    return terms


class HubCatalogue:
    """The hub registry + catalogue (genomesh.hub.registry.HubStore) as a DatasetCatalogue.

    The dataset URL is `{node base_url}/datasets/{id}`; a dial-out node has no base URL, so
    its datasets are named `{hub base_url}/nodes/{node}/datasets/{id}` (the node operator
    lists that prefix in `dataset_url_prefixes`).
    """

    def __init__(self, store: Any, *, hub_url: str) -> None:
        self.store = store
        self.hub_url = hub_url.rstrip("/")

    def base_url(self, node: str) -> str | None:
        """Where the node's datasets live: its base URL, or the hub's path for a dial-out
        node; None if the node is not registered."""
        try:
            public = self.store.node(node)
        except NotFoundError:
            return None
        return public.base_url or f"{self.hub_url}/nodes/{node}"

    def lookup(self, ref: DatasetRef) -> CatalogueEntry | None:
        for entry in self.store.catalogue():
            node, dataset_id = entry.get("node"), entry.get("datasetId")
            if not isinstance(node, str) or not isinstance(dataset_id, str):
                continue
            base = self.base_url(node)
            if base is None:
                continue
            url = dataset_url(base, dataset_id)
            if (ref.url is not None and ref.url == url) or (
                ref.url is None and (ref.node, ref.dataset_id) == (node, dataset_id)
            ):
                country = entry.get("country") or entry.get("jurisdiction")
                return CatalogueEntry(
                    node=node, dataset_id=dataset_id, url=url, name=str(entry.get("name") or dataset_id),
                    duo=tuple(terms_from_catalogue(entry.get("duo") or [])),
                    jurisdiction=country if isinstance(country, str) and len(country) == 2 else None,
                )  # fmt: skip
        return None

    def public_key(self, node: str) -> str | None:
        """The node's registered Ed25519 key (for signed notifications)."""
        try:
            return self.store.node(node).public_key
        except NotFoundError:
            return None


__all__ = [
    "CatalogueEntry",
    "DatasetCatalogue",
    "DatasetRef",
    "HubCatalogue",
    "StaticCatalogue",
    "dataset_url",
    "duo_terms",
    "find_dataset",
    "resolve_dataset",
    "terms_from_catalogue",
    "upsert_dataset",
]
