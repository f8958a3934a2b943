"""Split one simulated cohort into parts, one per node, for federated tests.

    parts = split_cohort(shared_cohort(n_individuals=90), tmp_path, parts=3)
    for i, part in enumerate(parts):
        ingest_dataset(node_dirs[i], f"cohort{i}", vcf=part.vcf,
                       individuals=part.individuals, consent=part.consent)

Individuals go to parts round-robin in sample order (part i gets samples i, i+n, ...), so
the pooled data is exactly the union of the parts: a federated statistic can be checked
against the same statistic on the whole cohort. Each part's VCF keeps every record (a
variant monomorphic in one part stays in it, as a real site list would).
"""

from __future__ import annotations

import csv
import gzip
import json
from dataclasses import dataclass
from pathlib import Path

from genomesh.simulate.cohort import CohortFiles


@dataclass(frozen=True)
class CohortPart:
    """One part of a split cohort: its files and the individuals in it."""

    vcf: Path
    individuals: Path
    consent: Path
    ids: tuple[str, ...]


def split_cohort(cohort: CohortFiles, out_dir: Path | str, *, parts: int) -> list[CohortPart]:
    """Write `parts` cohorts (VCF, individuals.json, consent.tsv) under `out_dir/part{i}`."""
    out = Path(out_dir)
    with gzip.open(cohort.vcf, "rt") as handle:
        lines = handle.read().splitlines()
    header_at = next(i for i, line in enumerate(lines) if line.startswith("#CHROM"))
    columns = lines[header_at].split("\t")
    samples = columns[9:]
    people = json.loads(cohort.individuals.read_text())
    with cohort.consent.open() as handle:
        consent_rows = list(csv.DictReader(handle, delimiter="\t"))
    consent_fields = list(consent_rows[0]) if consent_rows else ["individual_id", "duo"]
    result = []
    for p in range(parts):
        folder = out / f"part{p}"
        folder.mkdir(parents=True, exist_ok=True)
        keep = list(range(p, len(samples), parts))
        ids = tuple(samples[k] for k in keep)
        chosen = set(ids)
        vcf = folder / "cohort.vcf"
        with vcf.open("w") as handle:
            handle.writelines(line + "\n" for line in lines[:header_at])
            for line in lines[header_at:]:
                fields = line.split("\t")
                handle.write("\t".join(fields[:9] + [fields[9 + k] for k in keep]) + "\n")
        individuals = folder / "individuals.json"
        individuals.write_text(json.dumps([d for d in people if d["id"] in chosen]))
        consent = folder / "consent.tsv"
        with consent.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=consent_fields, delimiter="\t")
            writer.writeheader()
            writer.writerows(r for r in consent_rows if r["individual_id"] in chosen)
        result.append(CohortPart(vcf, individuals, consent, ids))
    return result


__all__ = ["CohortPart", "split_cohort"]
