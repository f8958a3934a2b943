"""`genomesh query variant|gene|individuals`: ask the whole federation through the hub.

Prints one table per node (status, granularity, count, reason) and one per dataset; `--json`
prints the hub's Beacon response unchanged. The hub URL comes from `--hub`, else
$GENOMESH_HUB_URL, else http://127.0.0.1:8000; a passport from `--passport FILE|TOKEN`,
else $GENOMESH_PASSPORT: one the hub's DAC issued for the hub (`genomesh dac passport`). The
hub never forwards it; each node asked gets a short-lived passport for that node alone.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from genomesh.cli.answers import print_network_answer
from genomesh.cli.apps import query_app
from genomesh.core.errors import (
    AccessDeniedError,
    AuthenticationError,
    ConflictError,
    GenomeshError,
    InvalidInputError,
    NotFoundError,
    UpstreamError,
)

console = Console(emoji=False)  # `:abc:` in a value must not become an emoji
err_console = Console(stderr=True, emoji=False, highlight=False)


DEFAULT_HUB = "http://127.0.0.1:8000"
_ERRORS: dict[int, type[GenomeshError]] = {
    400: InvalidInputError,
    401: AuthenticationError,
    403: AccessDeniedError,
    404: NotFoundError,
    409: ConflictError,
}

HubOption = Annotated[
    str | None, typer.Option("--hub", help="hub URL (default $GENOMESH_HUB_URL or :8000)")
]
PassportOption = Annotated[
    str | None, typer.Option("--passport", help="passport JWT, or a file holding it")
]
JsonOption = Annotated[bool, typer.Option("--json", help="print the hub's JSON response")]
NodesOption = Annotated[
    list[str] | None, typer.Option("--node", help="ask only this node (repeatable)")
]
GranularityOption = Annotated[str, typer.Option("--granularity", help="boolean, count or record")]
LimitOption = Annotated[
    int | None,
    typer.Option("--limit", min=1, help="records per dataset to show (record granularity)"),
]
SkipOption = Annotated[
    int, typer.Option("--skip", min=0, help="records to skip first, for the next page")
]
DatasetsOption = Annotated[
    list[str] | None,
    typer.Option("--dataset", help="ask only this dataset id (repeatable; Beacon datasetIds)"),
]


def hub_url(value: str | None) -> str:
    return (value or os.environ.get("GENOMESH_HUB_URL") or DEFAULT_HUB).rstrip("/")


def passport_header(value: str | None) -> dict[str, str]:
    """Authorization header from --passport (a token or a file) or $GENOMESH_PASSPORT."""
    value = value or os.environ.get("GENOMESH_PASSPORT")
    if not value:
        return {}
    path = Path(value)
    try:
        is_file = len(value) < 4096 and path.is_file()
    except OSError:  # e.g. a 2 kB token is "File name too long" for the file system
        is_file = False
    if is_file:
        value = path.read_text(encoding="utf-8").strip()
    elif value.strip().count(".") != 2 or "/" in value:
        # not a JWT (header.payload.signature): a mistyped file name must fail here, not be
        # sent to every node as a bearer token (and land in their audit logs)
        raise InvalidInputError(f"no such file {value}", field="--passport")
    return {"authorization": f"Bearer {value.strip()}"}


def hub_request(
    method: str,
    url: str,
    *,
    params: Any = None,
    json_body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> Any:
    """Call the hub; a non-2xx answer becomes the matching GenomeshError with its message."""
    import httpx  # here, not at the top: `genomesh --help` must not pay for it

    try:
        response = httpx.request(
            method, url, params=params, json=json_body, headers=headers, timeout=timeout
        )
    except httpx.HTTPError as exc:
        raise UpstreamError(f"cannot reach the hub at {url}: {exc}") from exc
    try:
        body = response.json()
    except ValueError:
        body = {"error": {"errorMessage": response.text[:300]}}
    if response.is_success:
        return body
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("errorMessage") if isinstance(error, dict) else None
    raise _ERRORS.get(response.status_code, UpstreamError)(
        message or f"hub answered HTTP {response.status_code}"
    )


def run_query(
    path: str,
    *,
    request_parameters: dict[str, Any],
    filters: list[str],
    granularity: str,
    hub: str | None,
    passport: str | None,
    nodes: list[str] | None,
    as_json: bool,
    title: str,
    datasets: list[str] | None = None,
    limit: int | None = None,
    skip: int = 0,
) -> dict[str, Any]:
    """POST a Beacon request to the hub's network endpoint and print the answer."""
    query: dict[str, Any] = {"requestedGranularity": granularity}
    if limit is not None or skip:
        query["pagination"] = {"skip": skip, **({"limit": limit} if limit is not None else {})}
    if request_parameters:
        query["requestParameters"] = request_parameters
    if filters:
        query["filters"] = [{"id": f} for f in filters]
    body: dict[str, Any] = {"meta": {"apiVersion": "v2.1.1"}, "query": query}
    if datasets:
        body["datasets"] = {"datasetIds": list(datasets)}
    params = {"nodes": ",".join(nodes)} if nodes else None
    # the hub checks the passport (for the hub's audience) and sends each node a short-lived
    # passport for that node alone; no node receives this one (QA F23)
    headers = passport_header(passport)
    answer = hub_request(
        "POST",
        f"{hub_url(hub)}{path}",
        params=params,
        json_body=body,
        headers=headers,
    )
    network = (answer.get("info") or {}).get("network") if isinstance(answer, dict) else None
    if not isinstance(network, dict):
        raise InvalidInputError(
            f"{hub_url(hub)} is not a genomesh hub (no info.network in the answer)", field="--hub"
        )
    if as_json:
        print(json.dumps(answer, indent=2))
    else:
        print_network_answer(answer, title=title, console=console, skip=skip)
    return answer


_VARIANT = re.compile(r"^(?:chr)?([0-9]{1,2}|X|Y|MT?):(\d+):([ACGTN]+):([ACGTN]+)$", re.IGNORECASE)


def parse_variant(text: str) -> dict[str, Any]:
    """`22:16050075:A:G` (VCF 1-based position) -> Beacon sequence query (0-based start)."""
    match = _VARIANT.match(text.strip())
    if not match:
        raise InvalidInputError(
            f"variant {text!r}: write CHROM:POS:REF:ALT, e.g. 22:16050075:A:G", field="variant"
        )
    chrom, pos, ref, alt = match.groups()
    if int(pos) < 1:
        raise InvalidInputError("position must be 1 or more (VCF, 1-based)", field="variant")
    return {
        "referenceName": chrom.upper(),
        "start": [int(pos) - 1],
        "referenceBases": ref.upper(),
        "alternateBases": alt.upper(),
    }


@query_app.command("variant")
def variant(
    variant: Annotated[str, typer.Argument(help="CHROM:POS:REF:ALT, POS 1-based as in VCF")],
    assembly: Annotated[str | None, typer.Option(help="GRCh37 or GRCh38")] = None,
    granularity: GranularityOption = "count",
    node: NodesOption = None,
    dataset: DatasetsOption = None,
    hub: HubOption = None,
    passport: PassportOption = None,
    limit: LimitOption = None,
    skip: SkipOption = 0,
    as_json: JsonOption = False,
) -> None:
    """Is this allele anywhere in the federation? (Beacon sequence query)"""
    params = parse_variant(variant)
    if assembly:
        params["assemblyId"] = assembly
    run_query(
        "/g_variants",
        request_parameters=params,
        filters=[],
        granularity=granularity,
        hub=hub,
        passport=passport,
        nodes=node,
        datasets=dataset,
        as_json=as_json,
        limit=limit,
        skip=skip,
        title=f"variant {variant}",
    )
    if not assembly and not as_json:
        # a "no" from a dataset on the other build is the classic cross-build error (QA F29)
        console.print(
            "no --assembly given: each dataset compared the position on its own assembly "
            "(see each dataset's note); add --assembly GRCh37 or GRCh38 to ask one build only",
            soft_wrap=True,
        )


@query_app.command("gene")
def gene(
    gene: Annotated[str, typer.Argument(help="HGNC gene symbol, e.g. BRCA2")],
    variant_type: Annotated[
        str | None, typer.Option("--type", help="variant type, e.g. DEL, SNV, DUP")
    ] = None,
    granularity: GranularityOption = "count",
    node: NodesOption = None,
    dataset: DatasetsOption = None,
    hub: HubOption = None,
    passport: PassportOption = None,
    limit: LimitOption = None,
    skip: SkipOption = 0,
    as_json: JsonOption = False,
) -> None:
    """Variants in a gene across the federation (Beacon geneId query)."""
    params: dict[str, Any] = {"geneId": gene}
    if variant_type:
        params["variantType"] = variant_type
    answer = run_query(
        "/g_variants",
        request_parameters=params,
        filters=[],
        granularity=granularity,
        hub=hub,
        passport=passport,
        nodes=node,
        datasets=dataset,
        as_json=as_json,
        limit=limit,
        skip=skip,
        title=f"gene {gene}" + (f" {variant_type}" if variant_type else ""),
    )
    if not as_json and not (answer.get("responseSummary") or {}).get("exists"):
        # a "no" for a gene is often a misspelt symbol or a dataset without gene annotations
        console.print(
            escape(
                f"no dataset reported variants in {gene}: check the symbol (HGNC, e.g. BRCA2); "
                "a dataset without gene annotations says so above [no_gene_annotations]"
            ),
            soft_wrap=True,
            highlight=False,
        )


@query_app.command("individuals")
def individuals(
    filters: Annotated[
        list[str] | None,
        typer.Option("--filter", help="ontology term, e.g. HP:0001250 (repeatable; AND)"),
    ] = None,
    granularity: GranularityOption = "count",
    node: NodesOption = None,
    dataset: DatasetsOption = None,
    hub: HubOption = None,
    passport: PassportOption = None,
    limit: LimitOption = None,
    skip: SkipOption = 0,
    as_json: JsonOption = False,
) -> None:
    """Individuals matching every filter, counted per node and dataset."""
    run_query(
        "/individuals",
        request_parameters={},
        filters=list(filters or []),
        granularity=granularity,
        hub=hub,
        passport=passport,
        nodes=node,
        datasets=dataset,
        as_json=as_json,
        limit=limit,
        skip=skip,
        title="individuals " + " ".join(filters or []),
    )


__all__ = [
    "escape",
    "hub_request",
    "hub_url",
    "parse_variant",
    "passport_header",
    "print_network_answer",
]
