"""Request and variant-parameter parsing: both shapes accepted, nonsense rejected by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genomesh.beacon.request import from_body, from_query_params
from genomesh.beacon.schemas import SchemaValidationError, schema_errors, validate_response
from genomesh.beacon.variants import parse_variant_query
from genomesh.core.errors import InvalidInputError


def test_from_body__flat_and_wrapped_parameters_are_the_same() -> None:
    flat = from_body(
        {
            "query": {
                "requestParameters": {"referenceName": "22", "start": [5], "alternateBases": "A"}
            }
        },
        entry="g_variants",
    )
    wrapped = from_body(
        {
            "query": {
                "requestParameters": {
                    "g_variant": {"referenceName": "22", "start": [5], "alternateBases": "A"}
                }
            }
        },
        entry="g_variants",
    )
    assert (
        flat.parameters
        == wrapped.parameters
        == {"referenceName": "22", "start": [5], "alternateBases": "A"}
    )


def test_from_body__dataset_ids_pagination_granularity() -> None:
    req = from_body(
        {
            "datasets": {"datasetIds": ["a", "b"]},
            "query": {"pagination": {"skip": 20, "limit": 5000}, "requestedGranularity": "count"},
        },
        entry="individuals",
        max_limit=100,
    )
    assert req.dataset_ids == ["a", "b"]
    assert (req.skip, req.limit, req.requested_limit) == (20, 100, 5000)
    assert req.granularity == "count"


def test_from_query_params__lists_and_aliases() -> None:
    body = from_query_params(
        [
            ("start", "10,20"),
            ("end", "30"),
            ("end", "40"),
            ("geneid", "BRCA2"),
            ("filters", "HP:1,NCIT:2"),
            ("datasetIds", "x"),
        ],
        entry="genomicVariant",
        max_limit=10,
    )
    req = from_body(body, entry="g_variants")
    assert req.parameters == {"start": [10, 20], "end": [30, 40], "geneId": "BRCA2"}
    assert [f["id"] for f in req.filters] == ["HP:1", "NCIT:2"]
    assert req.dataset_ids == ["x"]


def test_request_summary__validates_as_received_request_summary() -> None:
    req = from_body(
        {
            "query": {
                "requestParameters": {"referenceName": "1", "start": [1], "alternateBases": "T"},
                "filters": [{"id": "HP:0001250"}],
            }
        },
        entry="g_variants",
    )
    body = {
        "meta": {
            "beaconId": "x",
            "apiVersion": "v2.1.1",
            "returnedSchemas": [],
            "returnedGranularity": "boolean",
            "receivedRequestSummary": req.summary(),
        },
        "responseSummary": {"exists": False},
    }
    validate_response("boolean", body)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": {"requestParameters": {"colour": "blue"}}}, "colour"),
        ({"query": {"requestParameters": {"start": ["x"]}}}, "start"),
        ({"query": {"requestParameters": {"start": [1, 2, 3]}}}, "start"),
        ({"query": {"pagination": {"skip": -1}}}, "skip"),
        ({"query": {"requestedGranularity": "all"}}, "requestedGranularity"),
        ({"query": {"filters": "HP:1"}}, "filters"),
        ({"query": {"includeResultsetResponses": "SOME"}}, "includeResultsetResponses"),
        ([1, 2], "body"),
        ({"query": {"filter": [{"id": "NCIT:C16576"}]}}, "query.filter"),
        ({"unknown": 1}, "unknown"),
        ({"meta": {"apiversion": "v2"}}, "meta.apiversion"),
        ({"query": {"pagination": {"offset": 3}}}, "query.pagination.offset"),
    ],
)
def test_from_body__bad_input_names_the_field(body, field) -> None:
    with pytest.raises(InvalidInputError) as err:
        from_body(body, entry="g_variants")
    assert err.value.field == field


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"referenceName": "22", "end": [5]}, "end given without start"),
        ({"start": [5], "alternateBases": "A"}, "needs referenceName"),
        ({"referenceName": "22", "start": [5]}, "needs alternateBases"),
        ({"referenceName": "22", "start": [9], "end": [5]}, "greater than start"),
        ({"referenceName": "22", "start": [1, 2], "end": [5]}, "both"),
        (
            {"referenceName": "chr23", "start": [1], "alternateBases": "A"},
            "unknown reference sequence",
        ),
        ({"referenceName": "1", "start": [1], "alternateBases": "Z"}, "bases"),
        ({"variantType": "WEIRD"}, "unknown variantType"),
        ({"assemblyId": "mm10"}, "unknown assemblyId"),
        ({"genomicAlleleShortForm": "NM_004006.2:c.4375C>T"}, "cannot be resolved"),
        ({"referenceName": "NC_000001.11", "assemblyId": "GRCh37"}, "GRCh38"),
    ],
)
def test_variant_query__rejects_nonsense(params, match) -> None:
    with pytest.raises(InvalidInputError, match=match):
        parse_variant_query(params)


def test_variant_query__chromosome_is_exact_and_assembly_implied() -> None:
    q = parse_variant_query(
        {"referenceName": "refseq:NC_000001.10", "start": [99], "alternateBases": "A"}
    )
    assert q.chrom == "1" and q.assembly == "GRCh37" and "1" in q.params and "19" not in q.params
    assert q.assembly_problem("GRCh38") == "query is on GRCh37, dataset is on GRCh38"
    assert q.assembly_problem("GRCh37") is None


def test_variant_query__hgvs_substitution_becomes_sequence_query() -> None:
    q = parse_variant_query({"genomicAlleleShortForm": "NC_000022.10:g.16050075A>G"})
    assert q.kind == "allele" and q.chrom == "22" and q.assembly == "GRCh37"
    assert 16050074 in q.params and "A" in q.params and "G" in q.params


def test_variant_query__n_is_a_wildcard() -> None:
    q = parse_variant_query({"referenceName": "1", "start": [5], "alternateBases": "ANT"})
    assert "A_T" in q.params and "LIKE" in q.where


def test_schemas__cineca_bff_records_validate_and_broken_ones_do_not(reference: Path) -> None:
    bff = reference / "beacon-testdata" / "cineca_uk1" / "bff"
    individual = json.loads((bff / "individuals.json").read_text())[0]
    assert schema_errors("record:individual", individual) == []
    del individual["sex"]
    assert any("sex" in e for e in schema_errors("record:individual", individual))
    with pytest.raises(SchemaValidationError, match="responseSummary"):
        validate_response("count", {"meta": {}})
