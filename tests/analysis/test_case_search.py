"""`case-search` in process (the analysis' node and hub code over `run_rounds`, every request
and reply through the wire encoding): the packaged gene table, gene-list and whole-genome gene
scans, and the calibration of the test under the null. The HTTP federation, the gate and the
disclosure rules end to end are in tests/visiting/test_case_search.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from genomesh.analysis import get_analysis
from genomesh.analysis.case_search_local import scan
from genomesh.analysis.case_search_params import parse_params
from genomesh.core.errors import InvalidInputError
from genomesh.ontology.genes import (
    VERSION,
    ensembl_to_entrez,
    find_gene,
    gene_table,
    resolve_genes,
)
from genomesh.simulate.raredisease import plant_rare_disease
from genomesh.testing.cohorts import requires_msprime, shared_cohort
from genomesh.testing.federation import InMemoryLocalData, run_rounds
from genomesh.testing.gwas import load_cohort

NODES = {"node-1": ["ds-1"], "node-2": ["ds-2"], "node-3": ["ds-3"]}
POPULATION = ["node-3/ds-3"]
CASE = {"phenotypes": ["HP:0012759"]}  # neurodevelopmental abnormality (ReNU cases)
NULL_CASE = {"phenotypes": ["HP:0000822"]}  # hypertension, drawn independently of genotype


# ------------------------------------------------------------------ the gene table
# Expected rows are the source records: GENCODE 43 (GRCh38) / GENCODE 19 (GRCh37) gene lines,
# 1-based inclusive; RNU4-2 on GRCh38 agrees with UCSC's hg38 location in org.Hs.eg.db
# (0-based start 120291762, end 120291903), an independent source.
@pytest.mark.parametrize(
    ("gene", "assembly", "want"),
    [
        ("RNU4-2", "GRCh38", ("12", 120291763, 120291903, "snRNA", "ENSG00000202538", "26834")),
        ("RNU4-2", "GRCh37", ("12", 120729566, 120729706, "snRNA", "ENSG00000202538", "26834")),
        ("BRCA1", "GRCh38", ("17", 43044295, 43170245, "protein_coding", "ENSG00000012048", "672")),
        ("BRCA1", "GRCh37", ("17", 41196312, 41277500, "protein_coding", "ENSG00000012048", "672")),
    ],
)
def test_gene_table__known_genes_on_both_assemblies(
    gene: str, assembly: str, want: tuple[Any, ...]
) -> None:
    (row,) = find_gene(gene, assembly)
    got = (row["chrom"], row["start"], row["end"], row["biotype"], row["ensembl"], row["entrez"])
    assert got == want
    # the same gene by its Ensembl id (any version suffix) and by its NCBI id
    assert find_gene(f"{want[4]}.7", assembly) == [row]
    assert find_gene(f"NCBIGene:{want[5]}", assembly) == [row]
    assert find_gene(gene.lower(), assembly) == [row]


def test_gene_table__covers_non_coding_genes_and_both_assemblies() -> None:
    for assembly, total in (("GRCh38", 62_703), ("GRCh37", 57_820)):
        table = gene_table(assembly)
        assert len(table) == total
        assert {"protein_coding", "snRNA", "miRNA", "snoRNA"} <= set(table["biotype"])
        assert (table["start"] <= table["end"]).all() and (table["start"] >= 1).all()
    assert "lncRNA" in set(gene_table("GRCh38")["biotype"])
    assert ensembl_to_entrez("ENSG00000202538") == "26834"
    assert ensembl_to_entrez("ENSG00000000000") is None


def test_gene_table__unknown_genes_are_named() -> None:
    with pytest.raises(InvalidInputError) as caught:
        resolve_genes(["RNU4-2", "NOTAGENE1", "ENSG00000000001"], "GRCh38")
    assert caught.value.field == "genes"
    assert "'NOTAGENE1'" in caught.value.message and "'ENSG00000000001'" in caught.value.message
    with pytest.raises(InvalidInputError, match="GRCh36"):
        gene_table("GRCh36")


# ------------------------------------------------------------------ params and the scan
def test_params__a_gene_list_becomes_labelled_regions() -> None:
    params = parse_params(
        {"case": CASE, "population": POPULATION, "genes": ["RNU4-2", "ENSG00000012048"]}, NODES
    )
    assert params["regions"] == ["12:120291763-120291903", "17:43044295-43170245"]
    assert params["labels"] == {"12:120291763-120291903": "RNU4-2",
                                "17:43044295-43170245": "BRCA1"}  # fmt: skip
    assert params["filter"] == "split" and params["gene_table"] == VERSION
    hg19 = parse_params({"case": CASE, "population": POPULATION, "genes": ["RNU4-2"],
                         "assembly": "hg19"}, NODES)  # fmt: skip
    assert hg19["regions"] == ["12:120729566-120729706"] and hg19["assembly"] == "GRCh37"
    whole = parse_params({"case": CASE, "population": POPULATION, "windows": "genes+fixed"}, NODES)
    assert whole["windows"] == "genes+fixed" and whole["window"] == 100_000
    for bad, field in [({"genes": ["NOTAGENE1"]}, "genes"), ({"genes": "RNU4-2"}, "genes"),
                       ({"windows": "exons"}, "windows"), ({"filter": "cases"}, "filter"),
                       ({"genes": ["RNU4-2"], "window": 10_000}, "regions")]:  # fmt: skip
        with pytest.raises(InvalidInputError) as caught:
            parse_params({"case": CASE, "population": POPULATION, **bad}, NODES)
        assert caught.value.field == field, bad


def test_scan__overlapping_genes_and_windows_equal_a_brute_force_membership() -> None:
    rng = np.random.default_rng(5)
    pos = np.sort(np.r_[rng.integers(120_100_001, 120_400_001, size=3_000), 120_291_800])
    variants = pd.DataFrame({"chrom": "12", "pos": pos, "ref": "A", "alt": "C"})
    params = {"windows": "genes+fixed", "window": 50_000, "gene_table": VERSION,
              "assembly": "GRCh38", "region": "12:120100001-120400000"}  # fmt: skip
    names, rows, membership = scan(variants, params)
    dense = membership.toarray()
    genes = gene_table("GRCh38")
    on = genes[(genes["chrom"] == "12") & (genes["end"] >= 120_100_001)
               & (genes["start"] <= 120_400_000)]  # fmt: skip
    want: dict[str, set[int]] = {}
    for start, end in zip(on["start"], on["end"], strict=True):
        hit = set(np.flatnonzero((pos >= start) & (pos <= end) & (pos >= 120_100_001)
                                 & (pos <= 120_400_000)).tolist())  # fmt: skip
        if hit:
            want[f"12:{start}-{end}"] = hit
    for p_row, p in enumerate(pos):
        i = (int(p) - 1) // 50_000
        want.setdefault(f"12:{i * 50_000 + 1}-{(i + 1) * 50_000}", set()).add(p_row)
    got = {n: set(rows[np.flatnonzero(dense[k])].tolist()) for k, n in enumerate(names)}
    assert got == want
    assert "12:120291763-120291903" in got  # RNU4-2
    assert set(np.unique(dense)) <= {0, 1}


# ------------------------------------------------------------------ runs over a cohort
@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, InMemoryLocalData]:
    base = shared_cohort(n_individuals=240, chromosome="12", start=120_200_000, length=150_000)
    eligible = [s for i, s in enumerate(base.sample_ids) if i % 3 != 2]
    cohort = plant_rare_disease(base, tmp_path_factory.mktemp("planted") / "c", n_cases=24,
                                eligible=eligible, seed=3)  # fmt: skip
    return split(cohort)


def split(cohort: Any, min_count: int = 3) -> dict[str, InMemoryLocalData]:
    """Three in-process nodes holding every third individual; node-3 is the population."""
    people, variants, dosages = load_cohort(cohort)
    variants["chrom"] = variants["chrom"].str.removeprefix("chr")
    nodes = {}
    for k in range(3):
        cols = np.arange(k, len(people), 3)
        part = people.iloc[cols].reset_index(drop=True)
        nodes[f"node-{k + 1}"] = InMemoryLocalData(
            {f"ds-{k + 1}": (part, variants, np.ascontiguousarray(dosages[:, cols]))},
            min_count=min_count, chunk_variants=500,
        )  # fmt: skip
    return nodes


def search(nodes: dict[str, InMemoryLocalData], **params: Any) -> dict[str, Any]:
    body = {"population": POPULATION, "case": CASE, "max_af": 0.01, **params}
    return run_rounds(get_analysis("case-search"), body, nodes)[0]


@requires_msprime()
def test_case_search__a_gene_list_ranks_the_planted_gene_first(
    planted: dict[str, InMemoryLocalData],
) -> None:
    result = search(planted, genes=["RNU4-1", "RNU4-2", "OAS1"])
    top = result["rows"][0]
    assert (top["gene"], top["region"]) == ("RNU4-2", "12:120291763-120291903")
    assert top["significant"] and top["case_carriers"] >= 10
    assert all(not r["significant"] for r in result["rows"][1:])
    assert any("GENCODE" in note for note in result["notes"])
    # the same region given by coordinates counts the same
    by_region = search(planted, regions=["12:120291763-120291903"])["rows"][0]
    keys = ("case_carriers", "cases", "pop_carriers", "population", "p")
    assert {k: by_region[k] for k in keys} == {k: top[k] for k in keys}


@requires_msprime()
def test_case_search__whole_genome_genes_and_windows(
    planted: dict[str, InMemoryLocalData],
) -> None:
    result = search(planted, windows="genes+fixed", window=10_000)
    rows = result["rows"]
    assert rows[0]["gene"] == "RNU4-2" and rows[0]["significant"]
    labelled = [r for r in rows if r["gene"]]
    windows = [r for r in rows if not r["gene"]]
    assert labelled and windows and all(r["end"] - r["start"] + 1 == 10_000 for r in windows)
    # the window holding RNU4-2 is significant too; nothing away from it is
    assert {r["region"] for r in rows if r["significant"]} <= {
        r["region"] for r in rows if r["start"] <= 120_291_903 and r["end"] >= 120_291_763
    }
    genes_only = search(planted, windows="genes")["rows"]
    assert {r["region"] for r in genes_only} == {r["region"] for r in labelled}


@requires_msprime()
def test_case_search__the_null_is_calibrated_with_the_split_and_pooled_filters() -> None:
    """Cases (hypertension, independent of genotype) and the population are exchangeable.
    Filtering on a reference half of the population (split) or on the pooled frequency
    leaves the test exact, so its p-values are no smaller
    than uniform ones (the discrete, bounded counts make it conservative); filtering on the
    population sample alone biases them downwards (the winner's curse of the filter)."""
    nodes = split(shared_cohort(n_individuals=1_500, chromosome="12", start=120_200_000,
                                length=400_000))  # fmt: skip
    mean_log = {}
    for how in ("split", "pooled", "population"):
        result = search(nodes, case=NULL_CASE, window=4_000, filter=how)
        p = np.array([r["p"] for r in result["rows"]])
        assert len(p) >= 90 and result["cases"] >= 150
        assert not [r for r in result["rows"] if r["significant"]]
        mean_log[how] = float(np.mean(-np.log10(p)))
    assert mean_log["pooled"] < 1 / np.log(10)  # E[-log10 U] for uniform U = 0.434
    assert mean_log["split"] < 1 / np.log(10)
    assert mean_log["population"] > max(mean_log["pooled"], mean_log["split"]) * 1.15, mean_log


def test_case_search__paths(tmp_path: Path) -> None:
    """The gene table ships inside the package (no network, no download)."""
    from importlib import resources

    folder = resources.files("genomesh.ontology").joinpath("data", "genes")
    assert {p.name for p in folder.iterdir()} >= {"genes-GRCh38.tsv.gz", "genes-GRCh37.tsv.gz",
                                                   "SOURCE.md"}  # fmt: skip


def test_drill__picks_a_region_by_name_rank_or_gene() -> None:
    from genomesh.cli.case_drill import case_filters, pick_region

    result = {"analysis": "case-search", "rows": [
        {"region": "12:120291763-120291903", "gene": "RNU4-2", "rank": 1},
        {"region": "12:120200001-120300000", "gene": None, "rank": 2},
    ]}  # fmt: skip
    assert pick_region(result, "rnu4-2")["rank"] == 1
    assert pick_region(result, "2")["region"] == "12:120200001-120300000"
    assert pick_region(result, "chr12:120200001-120300000")["rank"] == 2
    with pytest.raises(InvalidInputError, match="'BRCA1' is not a region"):
        pick_region(result, "BRCA1")
    # the case definition as Beacon filters: one query per term (Beacon ANDs filters)
    assert case_filters({"phenotypes": ["HP:1", "HP:2"], "descendants": False}) == [
        [{"id": "HP:1", "includeDescendantTerms": False}],
        [{"id": "HP:2", "includeDescendantTerms": False}],
    ]
    assert case_filters({"disease": "OMIM:620851"}) == [[{"id": "OMIM:620851"}]]
