"""Beacon answers on the CINECA UK1 node checked against an independent computation from the
files (cyvcf2 on the VCF, plain JSON on the BFF individuals). Open policy: exact counts."""

from __future__ import annotations

import random
from pathlib import Path

import httpx
import pytest

from genomesh.beacon.schemas import validate_response
from genomesh.node.state import NodeState
from tests.beacon.helpers import open_settings
from tests.beacon.truth import cineca_individuals, cineca_variants, individuals_with, measure

FEMALE = "NCIT:C16576"


@pytest.fixture(scope="module")
def truth(cineca: Path):
    return cineca_variants(cineca / "vcf" / "chr22.cineca_uk1.5002.annotated.vcf.gz")


@pytest.fixture(scope="module")
def bff(cineca: Path) -> Path:
    return cineca / "bff" / "individuals.json"


def count(client: httpx.Client, path: str, **params) -> int:
    r = client.get(path, params={**params, "requestedGranularity": "count"})
    assert r.status_code == 200, r.text
    body = r.json()
    validate_response("count", body)
    assert body["meta"]["returnedGranularity"] == "count"
    return int(body["responseSummary"]["numTotalResults"])


def post_count(client: httpx.Client, path: str, parameters=None, filters=None) -> int:
    query = {"requestedGranularity": "count", "filters": filters or []}
    if parameters:
        query["requestParameters"] = {"g_variant": parameters}
    r = client.post(path, json={"meta": {"apiVersion": "v2.1.1"}, "query": query})
    assert r.status_code == 200, r.text
    validate_response("count", r.json())
    return int(r.json()["responseSummary"]["numTotalResults"])


def test_sequence_queries__match_vcf_carriers(client, truth) -> None:
    rng = random.Random(3)
    snvs = [v for v in truth if len(v.ref) == len(v.alt) == 1]
    indels = [v for v in truth if len(v.ref) != len(v.alt)]
    for v in rng.sample(snvs, 20) + rng.sample(indels, 8):
        same = [
            t for t in truth if (t.start, t.ref, t.alt) == (v.start, v.ref, v.alt) and t.carriers
        ]
        n = count(
            client,
            "/g_variants",
            referenceName="22",
            start=v.start,
            referenceBases=v.ref,
            alternateBases=v.alt,
        )
        assert n == len(same), v
        carriers = frozenset().union(*(t.carriers for t in same)) if same else frozenset()
        n_ind = count(
            client,
            "/individuals",
            referenceName="22",
            start=v.start,
            referenceBases=v.ref,
            alternateBases=v.alt,
        )
        assert n_ind == len(carriers), v
        if carriers:
            vid = f"22-{v.pos}-{v.ref}-{v.alt}"
            assert count(client, f"/g_variants/{vid}/individuals") == len(carriers)


def test_trimmed_indel_alleles__match_anchored_store_form(client, truth) -> None:
    ins = next(v for v in truth if len(v.alt) > len(v.ref) == 1 and v.carriers)
    # Beacon/VRS style: empty reference bases, start after the anchor base.
    n = count(
        client,
        "/g_variants",
        referenceName="22",
        start=ins.start + 1,
        referenceBases="",
        alternateBases=ins.alt[1:],
    )
    assert n >= 1


def _cnv_spans(cineca: Path) -> list[tuple[int, int]]:
    from cyvcf2 import VCF

    spans = []
    for v in VCF(str(cineca / "vcf" / "chr22.cineca_uk1.5002.annotated.vcf.gz")):
        if any(a.startswith("<") for a in v.ALT):
            spans.append((v.POS - 1, int(v.INFO.get("END") or v.POS)))
    return spans


def test_range_queries__match_vcf(client, truth, cineca) -> None:
    spans = _cnv_spans(cineca)
    rng = random.Random(5)
    lo, hi = min(v.start for v in truth), max(v.end for v in truth)
    checked = 0
    while checked < 8:
        s = rng.randrange(lo, hi - 20_000)
        e = s + rng.choice([50, 500, 5_000, 20_000])
        if any(a < e and b > s for a, b in spans):
            continue
        hits = {(t.start, t.ref, t.alt) for t in truth if t.start < e and t.end > s and t.carriers}
        people = set().union(*(t.carriers for t in truth if t.start < e and t.end > s))
        assert count(client, "/g_variants", referenceName="22", start=s, end=e) == len(hits)
        assert count(client, "/individuals", referenceName="22", start=s, end=e) == len(people)
        snv_hits = {h for h in hits if len(h[1]) == len(h[2]) == 1}
        assert count(
            client, "/g_variants", referenceName="22", start=s, end=e, variantType="SNV"
        ) == len(snv_hits)
        checked += 1


def test_bracket_query__precise_start_and_end(client, truth) -> None:
    v = next(t for t in truth if len(t.ref) > 1 and t.carriers)
    same = {(t.start, t.end) for t in truth if t.start == v.start and t.end == v.end and t.carriers}
    n = post_count(
        client,
        "/g_variants",
        {"referenceName": "22", "start": [v.start, v.start + 1], "end": [v.end, v.end + 1]},
    )
    assert n == len(same) >= 1


@pytest.mark.parametrize("gene", ["POTEH", "PSLNR", "BMS1P22"])
def test_gene_queries__match_snpeff_annotations(client, truth, gene) -> None:
    expected = {(t.start, t.ref, t.alt) for t in truth if gene in t.genes and t.carriers}
    assert expected
    assert count(client, "/g_variants", geneId=gene) == len(expected)


def test_reference_name_1__never_matches_22_or_19(client, truth) -> None:
    v = next(t for t in truth if len(t.ref) == len(t.alt) == 1 and t.carriers)
    for name in ("2", "chr2", "1"):
        r = client.get(
            "/g_variants", params={"referenceName": name, "start": v.start, "alternateBases": v.alt}
        )
        assert r.json()["responseSummary"]["exists"] is False
    for name in ("22", "chr22", "NC_000022.10"):
        r = client.get(
            "/g_variants", params={"referenceName": name, "start": v.start, "alternateBases": v.alt}
        )
        assert r.json()["responseSummary"]["exists"] is True, name


def test_ontology_filter__sex_term(client, bff) -> None:
    expected = individuals_with(bff, lambda i: i["sex"]["id"] == FEMALE)
    assert count(client, "/individuals", filters=FEMALE) == len(expected)


def test_ontology_filter__parent_term_returns_descendants(client, bff) -> None:
    expected = individuals_with(
        bff,
        lambda i: any(
            d["diseaseCode"]["id"][6:9] in {f"J{n}" for n in range(40, 48)}
            for d in i.get("diseases", [])
        ),
    )
    assert expected
    assert count(client, "/individuals", filters="ICD10:J40-J47") == len(expected)
    no_desc = post_count(
        client, "/individuals", filters=[{"id": "ICD10:J40-J47", "includeDescendantTerms": False}]
    )
    assert no_desc == 0


@pytest.mark.parametrize(("op", "value"), [(">", 30), ("<", 20), (">=", 25), ("<=", 25), ("!", 25)])
def test_alphanumeric_filter__bmi(client, bff, op, value) -> None:
    import operator

    fn = {
        ">": operator.gt,
        "<": operator.lt,
        ">=": operator.ge,
        "<=": operator.le,
        "!": operator.ne,
    }[op]
    expected = individuals_with(
        bff, lambda i: (b := measure(i, "BMI")) is not None and fn(b, value)
    )
    n = post_count(
        client,
        "/individuals",
        filters=[{"id": "LOINC:35925-4", "operator": op, "value": str(value)}],
    )
    assert n == len(expected)
    by_label = post_count(
        client, "/individuals", filters=[{"id": "BMI", "operator": op, "value": value}]
    )
    assert by_label == n


def test_filters_and_variants__anded(client, truth, bff, cineca) -> None:
    s, e = 16_070_000, 16_120_000
    assert not any(a < e and b > s for a, b in _cnv_spans(cineca))  # truth skips symbolic alleles
    carriers = set().union(*(t.carriers for t in truth if t.start < e and t.end > s))
    women_obese = individuals_with(
        bff, lambda i: i["sex"]["id"] == FEMALE and (measure(i, "BMI") or 0) > 30
    )
    n = post_count(
        client,
        "/individuals",
        {"referenceName": "22", "start": [s], "end": [e]},
        [{"id": FEMALE}, {"id": "LOINC:35925-4", "operator": ">", "value": "30"}],
    )
    assert n == len(carriers & women_obese)
    variants = {
        (t.start, t.ref, t.alt)
        for t in truth
        if t.start < e and t.end > s and t.carriers & women_obese
    }
    v = post_count(
        client,
        "/g_variants",
        {"referenceName": "22", "start": [s], "end": [e]},
        [{"id": FEMALE}, {"id": "LOINC:35925-4", "operator": ">", "value": "30"}],
    )
    assert v == len(variants)


def test_pagination__pages_cover_everything_once_and_total_ignores_paging(client, bff) -> None:
    total = len(cineca_individuals(bff))
    seen: list[str] = []
    for skip in range(0, 60, 25):
        r = client.get(
            "/individuals", params={"requestedGranularity": "record", "skip": skip, "limit": 25}
        )
        body = r.json()
        validate_response("resultsets", body)
        assert body["responseSummary"]["numTotalResults"] == total
        rs = body["response"]["resultSets"][0]
        assert rs["resultsCount"] == total
        seen += [x["id"] for x in rs["results"]]
    assert len(seen) == len(set(seen)) == 75
    assert seen == sorted(seen)


def test_assembly_mismatch__dataset_not_answered_with_reason(client, truth, cineca_node) -> None:
    v = next(t for t in truth if t.carriers)
    params = {"referenceName": "22", "start": v.start, "alternateBases": v.alt}
    state = NodeState.open(open_settings(cineca_node.path))
    before = state.head()[0]
    r = client.get("/g_variants", params={**params, "assemblyId": "GRCh38"})
    assert state.head()[0] == before + 1  # asked nothing, but the question is audited
    body = r.json()
    validate_response("boolean", body)
    assert body["responseSummary"]["exists"] is False
    assert "GRCh38" in body["info"]["refused"][0]["reason"]
    r = client.get("/g_variants", params={**params, "assemblyId": "hs37d5"})
    assert r.json()["responseSummary"]["exists"] is True
    assert not r.json()["info"]["datasets"][0].get("notes")
    # without assemblyId the answer says which assembly the coordinates were compared on
    r = client.get("/g_variants", params=params)
    assert any("GRCh37" in n for n in r.json()["info"]["datasets"][0]["notes"])


def test_record_granularity__case_level_data_lists_the_carriers(client, truth) -> None:
    v = next(t for t in truth if len(t.ref) == len(t.alt) == 1 and 0 < len(t.carriers) < 20)
    r = client.get(
        f"/g_variants/22-{v.pos}-{v.ref}-{v.alt}", params={"requestedGranularity": "record"}
    )
    body = r.json()
    validate_response("resultsets", body)
    (record,) = body["response"]["resultSets"][0]["results"]
    assert {c["biosampleId"] for c in record["caseLevelData"]} == set(v.carriers)
    # resolvable identifiers: the GRCh37 RefSeq accession of chromosome 22
    assert record["variation"]["location"]["sequence_id"] == "refseq:NC_000022.10"
    assert record["identifiers"]["genomicHGVSId"] == f"NC_000022.10:g.{v.pos}{v.ref}>{v.alt}"


def test_gene_with_amino_acid_change__one_letter_and_hgvs_forms(client, truth) -> None:
    three = {
        "Ile": "I",
        "Thr": "T",
        "Gln": "Q",
        "His": "H",
        "Gly": "G",
        "Asp": "D",
        "Ala": "A",
        "Val": "V",
    }
    v = next(
        t
        for t in truth
        if "POTEH" in t.genes
        and t.carriers
        and any(c[2:5] in three and c[-3:] in three for c in t.aa_changes)
    )
    change = next(c for c in sorted(v.aa_changes) if c[2:5] in three and c[-3:] in three)
    one = f"{three[change[2:5]]}{change[5:-3]}{three[change[-3:]]}"  # p.Ile538Thr -> I538T
    expected = {
        (t.start, t.ref, t.alt)
        for t in truth
        if "POTEH" in t.genes and change in t.aa_changes and t.carriers
    }
    assert count(client, "/g_variants", geneId="POTEH", aminoacidChange=one) == len(expected)
    assert count(client, "/g_variants", geneId="POTEH", aminoacidChange=change) == len(expected)


def test_wildcard_and_hgvs_forms__match_vcf(client, truth) -> None:
    snv = next(t for t in truth if len(t.ref) == len(t.alt) == 1 and t.carriers)
    at_pos = {
        (t.start, t.alt)
        for t in truth
        if t.start == snv.start and len(t.ref) == len(t.alt) == 1 and t.carriers
    }
    assert count(
        client, "/g_variants", referenceName="22", start=snv.start, alternateBases="N"
    ) == len(at_pos)
    same = {
        (t.ref, t.alt)
        for t in truth
        if t.start == snv.start and (t.ref, t.alt) == (snv.ref, snv.alt) and t.carriers
    }
    assert count(
        client, "/g_variants", genomicAlleleShortForm=f"NC_000022.10:g.{snv.pos}{snv.ref}>{snv.alt}"
    ) == len(same)
    dele = next(t for t in truth if len(t.ref) > len(t.alt) == 1 and t.carriers)
    first, last = dele.pos + 1, dele.pos + len(dele.ref) - 1  # deleted bases, 1-based
    hgvs = f"22:g.{first}_{last}del" if last > first else f"22:g.{first}del"
    assert count(client, "/g_variants", genomicAlleleShortForm=hgvs) >= 1


def test_gene_symbol__case_insensitive(client) -> None:
    upper = count(client, "/g_variants", geneId="POTEH")
    assert upper > 0
    assert count(client, "/g_variants", geneId="poteh") == upper
    assert count(client, "/g_variants", geneId="poteh", variantType="SNV") == count(
        client, "/g_variants", geneId="POTEH", variantType="SNV"
    )
