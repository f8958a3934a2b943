"""The demo's rare disease: ReNU syndrome (RNU4-2) planted across the AU and NL nodes, with
the GB node's part as the population cohort; its cases enrolled for matchmaking.

One population is simulated around RNU4-2 (chr12, GRCh38) and split round-robin over the
nodes (`genomesh.testing.split.split_cohort`); `genomesh.simulate.raredisease` plants the
disease in individuals of the NL and AU parts and one private variant in the GB part. Each
part is ingested as the node's `<node>-renu` dataset. The NL and AU cases are enrolled for
matchmaking (their phenopackets converted, with the node's genetics service as contact) and
both nodes take matches from the hub (peer `hub`). Once the hub is up, `register_clinic`
gives the tour's clinic an MME token at the hub (`demo/hub/mme-demo-clinic.token`) and
writes the patient it submits (`demo/data/renu/query-patient.json`: an NL case, as its clinic
would describe it).

    genomesh analysis submit case-search --phenotype HP:0012759 \\
        --population gb-biobank/gb-biobank-renu --window 10000 --max-af 0.01 \\
        -d nl-umc/nl-umc-renu -d gb-biobank/gb-biobank-renu -d au-rd/au-rd-renu --wait
    genomesh match submit demo/data/renu/query-patient.json --url HUB --token "$(cat ...)"
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rich.console import Console

if TYPE_CHECKING:
    from genomesh.simulate.cohort import CohortFiles

STUDY_KEY = "renu"
STUDY_SEED = 4221
STUDY_PEOPLE = 900
CASES = 30
CASE_NODES = ("nl-umc", "au-rd")
CLINIC = "demo-clinic"
TOKEN_FILE = "mme-demo-clinic.token"
QUERY_FILE = "query-patient.json"


class _Node(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def country(self) -> str: ...


def dataset_id(node: str) -> str:
    return f"{node}-renu"


def contact(node: str) -> dict[str, str]:
    return {
        "name": f"Clinical genetics, {node}",
        "institution": node,
        "href": f"mailto:genetics@{node}.example",
    }


def prepare_rare_study(root: Path, nodes: Sequence[_Node], *, console: Console) -> None:
    """Simulate and plant once, ingest each node's part, enrol the cases (skips what exists)."""
    from genomesh.core.consent import DataUseTerm
    from genomesh.matchmaker.phenopacket import phenopacket_to_patient
    from genomesh.matchmaker.registry import CONSENT_STATEMENT, MatchmakerRegistry
    from genomesh.simulate.cohort import simulate_cohort
    from genomesh.simulate.raredisease import plant_rare_disease
    from genomesh.store import ingest_dataset
    from genomesh.testing.split import split_cohort

    todo = [
        (i, n) for i, n in enumerate(nodes)
        if not (root / "nodes" / n.name / "datasets" / dataset_id(n.name) / "CURRENT").is_file()
    ]  # fmt: skip
    if not todo:
        return
    data_dir = root / "data" / STUDY_KEY
    order = [n.name for n in nodes]
    with console.status(f"simulating the rare-disease study ({STUDY_PEOPLE:,} people, ReNU)"):
        base = simulate_cohort(
            data_dir / "population", n_individuals=STUDY_PEOPLE, chromosome="12",
            start=120_200_000, length=200_000, seed=STUDY_SEED, country="GB",
            populations={"EUR": 0.7, "AFR": 0.15, "EAS": 0.15}, id_prefix="RD", overwrite=True,
        )  # fmt: skip
        eligible = [s for k, s in enumerate(base.sample_ids) if order[k % len(order)] in CASE_NODES]
        planted = plant_rare_disease(
            base, data_dir / "planted", n_cases=CASES, eligible=eligible, seed=STUDY_SEED
        )
        parts = split_cohort(planted, data_dir / "parts", parts=len(nodes))
    cases = set(planted.read_truth()["rare_disease"]["cases"])
    for i, node in todo:
        part = parts[i]
        node_dir = root / "nodes" / node.name
        role = "cases" if node.name in CASE_NODES else "population cohort"
        with console.status(f"ingesting {dataset_id(node.name)} into {node.name}"):
            ingest_dataset(
                node_dir, dataset_id(node.name), vcf=part.vcf, individuals=part.individuals,
                consent=part.consent, duo=[DataUseTerm(id="DUO:0000006")],  # HMB
                name=f"Neurodevelopmental disorders study, {node.country} ({role}, simulated)",
                description=(
                    "A simulated population around RNU4-2 (chr12, GRCh38) with ReNU syndrome "
                    "planted in cases at the NL and AU nodes; the GB part is the population "
                    f"cohort. This node's {len(part.ids)} participants."
                ),
                attribution=planted.attribution
                + "; phenotypes drawn from phenopacket-store (Danis et al. 2025)",
            )  # fmt: skip
        if node.name in CASE_NODES:
            mine = sorted(cases & set(part.ids))
            patients = [
                phenopacket_to_patient(
                    json.loads((planted.phenopackets / f"{pid}.json").read_text()),
                    contact=contact(node.name),
                )
                for pid in mine
            ]
            registry = MatchmakerRegistry(node_dir)
            registry.enrol(
                patients, dataset_id=dataset_id(node.name), known_individuals=frozenset(part.ids),
                consent=CONSENT_STATEMENT, source=str(planted.phenopackets),
            )  # fmt: skip
            if "hub" not in registry.peers():
                registry.add_peer("hub")  # the custodian opts in to matches from the hub
        console.print(f"[green]✓[/] {node.name}: {dataset_id(node.name)}")
    query = query_patient(planted, set(parts[order.index(CASE_NODES[0])].ids))
    (data_dir / QUERY_FILE).write_text(json.dumps(query, indent=1) + "\n")


def cohort_roles(node: str) -> dict[str, str]:
    """The rare-disease study's cohort role at `node`, for the node's dataset policies: the
    catalogue then marks the GB part as the population (a case search naming no population
    takes it)."""
    return {dataset_id(node): "cases" if node in CASE_NODES else "population"}


def query_patient(planted: CohortFiles, part_ids: set[str]) -> dict[str, Any]:
    """The first planted case among `part_ids`, as its clinic would submit it to the hub."""
    from genomesh.matchmaker.phenopacket import phenopacket_to_patient

    truth = planted.read_truth()["rare_disease"]
    pid = next(c for c in truth["cases"] if c in part_ids)
    packet = json.loads((planted.phenopackets / f"{pid}.json").read_text())
    clinic = {
        "name": "Dr Demo Clinician",
        "institution": "Demo Clinic",
        "href": "mailto:clinician@demo-clinic.example",
    }
    return {**phenopacket_to_patient(packet, contact=clinic), "id": f"CLINIC-{pid}"}


def register_clinic(root: Path, hub_url: str) -> Path:
    """Give the tour's clinic an MME token at the hub (once); the token file's path."""
    from genomesh.cli.query_commands import hub_request

    hub_dir = root / "hub"
    path = hub_dir / TOKEN_FILE
    headers = {"authorization": f"Bearer {(hub_dir / 'admin.token').read_text().strip()}"}
    peers = hub_request("GET", f"{hub_url}/match/peers", headers=headers)["peers"]
    if path.is_file() and any(p["name"] == CLINIC for p in peers):
        return path
    if any(p["name"] == CLINIC for p in peers):  # its token file is lost: issue a new one
        hub_request("DELETE", f"{hub_url}/match/peers/{CLINIC}", headers=headers)
    body = {"name": CLINIC, "contact": "clinician@demo-clinic.example"}
    token = hub_request("POST", f"{hub_url}/match/peers", json_body=body, headers=headers)["token"]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return path


__all__ = ["CASE_NODES", "dataset_id", "prepare_rare_study", "register_clinic"]
