"""`genomesh match ...`: a node's Matchmaker Exchange peers and patients, and match requests.

genomesh match peer-add DIR NAME          register a peer; prints its X-Auth-Token once
genomesh match peer-remove DIR NAME
genomesh match enrol DIR --dataset D --patients FILE --consent matchmaking+contact
genomesh match patients DIR               what the node offers for matching
genomesh match submit PATIENT.json --url URL --token TOKEN
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from genomesh.cli.apps import match_app
from genomesh.core.errors import InvalidInputError, UpstreamError

console = Console()
MME_TYPE = "application/vnd.ga4gh.matchmaker.v1.1+json"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInputError("no such file", file=str(path)) from None
    except ValueError as exc:
        raise InvalidInputError(f"not JSON: {exc}", file=str(path)) from None


def load_patients(
    path: Path, *, contact: dict[str, Any] | None = None, hide_genes: bool = False
) -> list[dict[str, Any]]:
    """MME patients from a file: a list of patients, `{"patient": ...}`, one patient, or
    phenopackets (one, a list, or a folder of `.json`), converted with `contact`."""
    from genomesh.matchmaker.phenopacket import phenopacket_to_patient

    docs: list[Any]
    if path.is_dir():
        docs = [_read_json(p) for p in sorted(path.glob("*.json"))]
    else:
        data = _read_json(path)
        docs = data if isinstance(data, list) else [data]
    out = []
    for doc in docs:
        if isinstance(doc, dict) and "patient" in doc:
            doc = doc["patient"]
        if isinstance(doc, dict) and ("phenotypicFeatures" in doc or "metaData" in doc):
            if not contact:
                raise InvalidInputError(
                    "phenopackets name no contact: give --contact-name and --contact-href",
                    file=str(path),
                )
            doc = phenopacket_to_patient(doc, contact=contact, hide_genes=hide_genes)
        out.append(doc)
    return out


def _contact(name: str | None, href: str | None, institution: str | None) -> dict[str, Any] | None:
    if not name and not href:
        return None
    if not (name and href):
        raise InvalidInputError("give both --contact-name and --contact-href", field="contact")
    contact = {"name": name, "href": href}
    if institution:
        contact["institution"] = institution
    return contact


@match_app.command("peer-add")
def peer_add(
    directory: Annotated[Path, typer.Argument(help="node folder")],
    name: Annotated[str, typer.Argument(help="peer name, e.g. the hub or another matchmaker")],
) -> None:
    """Register a matchmaking peer and print its X-Auth-Token (shown once)."""
    from genomesh.matchmaker.registry import MatchmakerRegistry
    from genomesh.store import open_node

    open_node(directory)
    token = MatchmakerRegistry(directory).add_peer(name)
    console.print(f"peer [bold]{escape(name)}[/] added. Its X-Auth-Token (shown once):")
    print(token)


@match_app.command("peer-remove")
def peer_remove(
    directory: Annotated[Path, typer.Argument(help="node folder")],
    name: Annotated[str, typer.Argument(help="peer name")],
) -> None:
    """Remove a peer: its token stops working at once."""
    from genomesh.matchmaker.registry import MatchmakerRegistry

    MatchmakerRegistry(directory).remove_peer(name)
    console.print(f"peer {escape(name)} removed")


@match_app.command("enrol")
def enrol(
    directory: Annotated[Path, typer.Argument(help="node folder")],
    dataset: Annotated[str, typer.Option(help="dataset the patients' individuals belong to")],
    patients: Annotated[Path, typer.Option(help="MME patients JSON, or phenopacket(s)")],
    consent: Annotated[
        str, typer.Option(help="must be 'matchmaking+contact': the participants consented")
    ],
    test: Annotated[
        bool, typer.Option("--test", help="test patients (answer test queries only)")
    ] = False,
    contact_name: Annotated[str | None, typer.Option(help="contact for phenopackets")] = None,
    contact_href: Annotated[
        str | None, typer.Option(help="contact URL (mailto: or https:)")
    ] = None,
    contact_institution: Annotated[str | None, typer.Option(help="contact institution")] = None,
) -> None:
    """Offer patients of a dataset for matching (all or nothing; replaces by patient id)."""
    from genomesh.matchmaker.registry import MatchmakerRegistry
    from genomesh.store import open_node

    node = open_node(directory)
    ds = node.dataset(dataset)
    con = ds.connect()
    try:
        known = frozenset(
            r[0] for r in con.execute("SELECT individual_id FROM individuals").fetchall()
        )
    finally:
        con.close()
    docs = load_patients(
        patients, contact=_contact(contact_name, contact_href, contact_institution)
    )
    added = MatchmakerRegistry(directory).enrol(
        docs,
        dataset_id=dataset,
        known_individuals=known,
        consent=consent,
        test=test,
        source=str(patients),
    )
    kind = "test patients" if test else "patients"
    console.print(f"enrolled {len(added)} {kind} of dataset {escape(dataset)} for matchmaking")


@match_app.command("patients")
def list_patients(directory: Annotated[Path, typer.Argument(help="node folder")]) -> None:
    """The patients this node offers for matching."""
    from genomesh.matchmaker.registry import MatchmakerRegistry
    from genomesh.matchmaker.scoring import genomic_keys, observed_terms

    rows = MatchmakerRegistry(directory).patients()
    if not rows:
        console.print("no patients enrolled for matchmaking")
        return
    for p in rows:
        genes = ", ".join(k.gene_label for k in genomic_keys(p.patient)) or "-"
        console.print(
            f"[bold]{escape(p.id)}[/]{' (test)' if p.test else ''}  dataset {escape(p.dataset_id)}"
            f"  individual {escape(p.individual_id)}\n"
            f"    {len(observed_terms(p.patient))} observed terms; genes: {escape(genes)}",
            soft_wrap=True,
        )


@match_app.command("submit")
def submit(
    patient: Annotated[Path, typer.Argument(help="MME patient JSON or a phenopacket")],
    url: Annotated[str, typer.Option(help="matchmaker base URL (a node, the hub or a peer)")],
    token: Annotated[
        str, typer.Option(help="X-Auth-Token", envvar="GENOMESH_MME_TOKEN", show_envvar=True)
    ],
    contact_name: Annotated[str | None, typer.Option(help="contact for a phenopacket")] = None,
    contact_href: Annotated[str | None, typer.Option(help="contact URL for a phenopacket")] = None,
    test: Annotated[bool, typer.Option("--test", help="a test query (test data only)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the MME response")] = False,
) -> None:
    """Send one patient to a matchmaker and show the ranked matches, each score explained."""
    import httpx

    docs = load_patients(patient, contact=_contact(contact_name, contact_href, None))
    if len(docs) != 1:
        raise InvalidInputError(f"{len(docs)} patients in the file: submit one", file=str(patient))
    body: dict[str, Any] = {"patient": docs[0]}
    if test:
        body["patient"]["test"] = True
    try:
        response = httpx.post(
            url.rstrip("/") + "/match",
            content=json.dumps(body),
            headers={"Content-Type": MME_TYPE, "Accept": MME_TYPE, "X-Auth-Token": token},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        raise UpstreamError(f"matchmaker not reachable at {url}: {exc}") from None
    try:
        data = response.json()
    except ValueError:
        raise UpstreamError(f"matchmaker answered {response.status_code} without JSON") from None
    if response.status_code != 200:
        raise UpstreamError(f"matchmaker answered {response.status_code}: {data.get('message')}")
    if as_json:
        print(json.dumps(data, indent=2))
        return
    results = data.get("results", [])
    console.print(f"{len(results)} match(es)")
    for n, r in enumerate(results, 1):
        s, p = r.get("score", {}), r.get("patient", {})
        contact = p.get("contact", {})
        source = r.get("_source") or {}  # results through the hub say where they came from
        where = f"  at {source.get('kind')} {source.get('name')}" if source.get("name") else ""
        console.print(
            f"{n}. [bold]{escape(str(p.get('id')))}[/]{escape(where)}  score "
            f"{s.get('patient', 0):.3f}"
            f"  (phenotype {s.get('_phenotype', '-')}, genotype {s.get('_genotype', '-')})\n"
            f"   shared genes: {escape(', '.join(s.get('_sharedGenes', [])) or '-')}; "
            f"shared terms: {len(s.get('_sharedTerms', []))}\n"
            f"   contact: {escape(str(contact.get('name')))} {escape(str(contact.get('href')))}",
            soft_wrap=True,
        )
    extra = data.get("_genomesh") or {}
    for report in extra.get("sources") or []:  # the hub's per-source status
        if report.get("status") != "ok":
            console.print(
                f"   {escape(str(report.get('source')))}: {report.get('status')} "
                f"({escape(str(report.get('reason')))})",
                soft_wrap=True,
            )
    if extra.get("hpoVersion"):
        from genomesh.ontology.hpo import HPO_ACKNOWLEDGEMENT

        console.print(HPO_ACKNOWLEDGEMENT.format(version=extra["hpoVersion"]), soft_wrap=True)
