"""Write the packaged rare-disease profile `genomesh/simulate/data/renu_syndrome.json`.

From phenopacket-store (../shared/reference/phenopacket-store/all_phenopackets.jsonl.gz,
BSD-3, Danis et al. 2025): every phenopacket whose diagnosis is in RNU4-2, the share of cases
in which each HPO feature was observed, and the variants reported (GRCh38 VCF records).
`genomesh.simulate.raredisease` draws simulated cases' features and variants from it.

    python validation/rare_disease_profile.py [PATH/TO/all_phenopackets.jsonl.gz]
"""

from __future__ import annotations

import collections
import gzip
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT.parent / "shared" / "reference" / "phenopacket-store" / "all_phenopackets.jsonl.gz"
OUT = ROOT / "src" / "genomesh" / "simulate" / "data" / "renu_syndrome.json"
GENE = "RNU4-2"


def main(path: Path) -> None:
    cases = 0
    observed: collections.Counter[str] = collections.Counter()
    labels: dict[str, str] = {}
    diseases: collections.Counter[tuple[str, str]] = collections.Counter()
    variants: collections.Counter[tuple[str, int, str, str]] = collections.Counter()
    hpo_versions: collections.Counter[str] = collections.Counter()
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if GENE not in line:
                continue
            doc = json.loads(line)
            genes = set()
            for interpretation in doc.get("interpretations") or []:
                for g in interpretation.get("diagnosis", {}).get("genomicInterpretations") or []:
                    descriptor = g.get("variantInterpretation", {}).get("variationDescriptor", {})
                    genes.add(descriptor.get("geneContext", {}).get("symbol"))
                    record = descriptor.get("vcfRecord")
                    if record and descriptor.get("geneContext", {}).get("symbol") == GENE:
                        chrom = str(record["chrom"]).removeprefix("chr")
                        variants[(chrom, int(record["pos"]), record["ref"], record["alt"])] += 1
            if GENE not in genes:
                continue
            cases += 1
            for feature in doc.get("phenotypicFeatures") or []:
                if not feature.get("excluded"):
                    observed[feature["type"]["id"]] += 1
                    labels[feature["type"]["id"]] = feature["type"]["label"]
            for disease in doc.get("diseases") or []:
                diseases[(disease["term"]["id"], disease["term"]["label"])] += 1
            for resource in doc.get("metaData", {}).get("resources") or []:
                if resource.get("id") == "hp":
                    hpo_versions[resource.get("version")] += 1
    (disease_id, disease_label), _ = diseases.most_common(1)[0]
    starts = [pos for _, pos, _, _ in variants]
    profile = {
        "source": "phenopacket-store b694d17 (Danis et al. 2025, doi:10.1016/j.xhgg.2024.100371)",
        "hpoVersion": hpo_versions.most_common(1)[0][0],
        "gene": GENE,
        "disease": {"id": disease_id, "label": disease_label},
        "cases": cases,
        "assembly": "GRCh38",
        "region": {
            "chrom": variants.most_common(1)[0][0][0],
            "start": min(starts) - 10,
            "end": max(starts) + 60,
        },
        "features": [
            {"id": t, "label": labels[t], "frequency": round(n / cases, 3)}
            for t, n in observed.most_common()
            if n >= 3
        ],
        "variants": [
            {"chrom": c, "pos": p, "ref": r, "alt": a, "cases": n}
            for (c, p, r, a), n in variants.most_common()
        ],
    }
    OUT.write_text(json.dumps(profile, indent=1) + "\n", encoding="utf-8")
    print(f"{cases} cases, {len(profile['features'])} features, {len(variants)} variants -> {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else STORE)
