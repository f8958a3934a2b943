"""Planting a rare disease (ReNU syndrome, RNU4-2) in a simulated cohort."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from genomesh.core.errors import InvalidInputError
from genomesh.matchmaker.phenopacket import phenopacket_to_patient
from genomesh.ontology.hpo import get_hpo
from genomesh.simulate.raredisease import load_profile, plant_rare_disease
from genomesh.testing.cohorts import small_cohort

WINDOW = {"chromosome": "12", "start": 120_250_000, "length": 100_000, "n_individuals": 60}


def _calls(vcf: Path) -> dict[tuple[int, str, str], dict[str, str]]:
    with gzip.open(vcf, "rt") as handle:
        lines = [x for x in handle.read().splitlines() if not x.startswith("##")]
    samples = lines[0].split("\t")[9:]
    out = {}
    for line in lines[1:]:
        f = line.split("\t")
        out[(int(f[1]), f[3], f[4])] = dict(zip(samples, f[9:], strict=True))
    return out


def test_plant__cases_carry_the_profiles_variants_and_features(tmp_path: Path) -> None:
    cohort = small_cohort(tmp_path / "base", **WINDOW)
    eligible = list(cohort.sample_ids[:40])
    planted = plant_rare_disease(cohort, tmp_path / "planted", n_cases=8, eligible=eligible)
    truth = planted.read_truth()["rare_disease"]
    profile = load_profile()
    cases = set(truth["cases"])
    assert len(cases) == 8 and cases <= set(eligible)
    assert truth["region"] == profile.region and truth["disease"]["id"] == "OMIM:620851"
    calls = _calls(planted.vcf)
    positions = [p for p, _, _ in calls]
    assert positions == sorted(positions) and len(calls) == planted.n_variants > cohort.n_variants
    carriers: dict[str, int] = {}
    for (pos, _, _), row in calls.items():
        if profile.start <= pos <= profile.end:
            for sample, gt in row.items():
                if gt != "0|0":
                    carriers[sample] = carriers.get(sample, 0) + 1
    planted_carriers = {s for s in carriers if s in cases}
    assert planted_carriers == cases  # every case carries one planted variant
    (noise,) = truth["population_carriers"]
    assert noise not in eligible and noise in carriers  # the population's one private carrier
    # features drawn from the profile, real HPO terms, and the variant in the phenopacket
    hpo = get_hpo()
    people = {p["id"]: p for p in json.loads(planted.individuals.read_text())}
    for pid in cases:
        terms = {f["featureType"]["id"] for f in people[pid]["phenotypicFeatures"]}
        assert len(terms & {f[0] for f in profile.features}) >= 3
        assert all(hpo.label(t) for t in terms)
        packet = json.loads((planted.phenopackets / f"{pid}.json").read_text())
        patient = phenopacket_to_patient(packet, contact={"name": "x", "href": "mailto:x@y.z"})
        (gene,) = patient["genomicFeatures"]
        assert gene["gene"]["id"] == "RNU4-2"
        pos, ref, alt = truth["case_variants"][pid].split("-")
        assert gene["variant"]["referenceBases"] == ref
        assert gene["variant"]["start"] == int(pos) - 1 and gene["variant"]["alternateBases"] == alt
        assert {"id": "MIM:620851", "label": "ReNU syndrome"} in patient["disorders"]
    assert cohort.read_truth().get("rare_disease") is None  # the original is left alone


def test_plant__a_window_without_the_region_is_refused(tmp_path: Path) -> None:
    cohort = small_cohort(tmp_path / "base")  # chr22
    with pytest.raises(InvalidInputError, match="does not hold RNU4-2"):
        plant_rare_disease(cohort, tmp_path / "planted", n_cases=3)
    with pytest.raises(InvalidInputError, match="n_cases"):
        plant_rare_disease(small_cohort(tmp_path / "b2", **WINDOW), tmp_path / "p2", n_cases=0)


def test_plant_cli__reads_a_simulated_folder_and_plants(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from genomesh.cli.main import main

    cohort = small_cohort(tmp_path / "base", **WINDOW)
    eligible = tmp_path / "eligible.txt"
    eligible.write_text("\n".join(cohort.sample_ids[:20]) + "\n")
    out = tmp_path / "planted"
    code = main(["plant-rare-disease", str(cohort.out_dir), str(out), "--cases", "5",
                 "--eligible", str(eligible), "--seed", "4"])  # fmt: skip
    assert code == 0, capsys.readouterr()
    assert "ReNU syndrome (OMIM:620851, RNU4-2) in 5 cases" in capsys.readouterr().out
    truth = json.loads((out / "truth.json").read_text())["rare_disease"]
    assert set(truth["cases"]) <= set(cohort.sample_ids[:20]) and truth["seed"] == 4
    assert main(["plant-rare-disease", str(tmp_path / "nowhere"), str(out)]) == 2
    assert "not a simulated cohort" in capsys.readouterr().err
