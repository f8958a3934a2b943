"""`genomesh hub serve|register-node|nodes|sync|key|keys`, `genomesh catalogue search`,
and `genomesh node dial-out` (a node that serves the hub over outbound connections only).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from genomesh.cli.apps import catalogue_app, hub_app, node_app
from genomesh.cli.layout import print_rows
from genomesh.cli.query_commands import (
    HubOption,
    JsonOption,
    console,
    escape,
    hub_request,
    hub_url,
)
from genomesh.core.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)

# every hub-folder option takes both spellings (`hub key --hub-dir` failed; QA F14)
DirOption = Annotated[
    Path, typer.Option("--dir", "--hub-dir", help="hub folder (state, keys, admin token)")
]


def admin_headers(token: str | None, hub_dir: Path | None) -> dict[str, str]:
    """Admin bearer header from --token, $GENOMESH_HUB_ADMIN_TOKEN or HUB_DIR/admin.token."""
    token = token or os.environ.get("GENOMESH_HUB_ADMIN_TOKEN")
    if not token and hub_dir is not None and (hub_dir / "admin.token").is_file():
        token = (hub_dir / "admin.token").read_text().strip()
    if not token:
        raise AuthenticationError(
            "registry changes need the admin token: --token, $GENOMESH_HUB_ADMIN_TOKEN or "
            "--hub-dir pointing at the hub folder (admin.token)"
        )
    return {"authorization": f"Bearer {token}"}


TokenOption = Annotated[str | None, typer.Option("--token", help="hub admin token")]
HubDirOption = Annotated[
    Path | None,
    typer.Option("--hub-dir", "--dir", help="read the admin token from this hub folder"),
]


@hub_app.command("serve")
def serve(
    directory: DirOption = Path("hub"),
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    node_timeout: Annotated[
        float | None, typer.Option(help="seconds to wait for each node (default 5)")
    ] = None,
    workers: Annotated[
        int, typer.Option(help="worker processes sharing the hub database (one per core)")
    ] = 1,
) -> None:
    """Run the hub: Beacon network at the root, /nodes, /catalogue, /dialout, DAC."""
    import uvicorn

    from genomesh.cli.serving import UVICORN_OPTIONS
    from genomesh.core.settings import HubSettings
    from genomesh.hub.app import prepare
    from genomesh.web.app import create_hub_app

    if workers < 1:
        raise InvalidInputError(f"workers must be at least 1, got {workers}", field="workers")

    overrides: dict[str, Any] = {"hub_dir": directory}
    if "GENOMESH_HUB_BASE_URL" not in os.environ:
        overrides["base_url"] = f"http://{host}:{port}"
    if "GENOMESH_HUB_ISSUER" not in os.environ:
        overrides["issuer"] = f"http://{host}:{port}"
    if node_timeout is not None:
        overrides["node_timeout_seconds"] = node_timeout
    settings = HubSettings(**overrides)
    console.print(
        f"hub [bold]{escape(settings.name)}[/] on {escape(settings.base_url)} "
        f"(state in {escape(str(directory))}, {workers} worker{'s' if workers > 1 else ''}); "
        f"portal: {escape(settings.base_url)}/"
    )
    # access_log off: at log level warning uvicorn would still format each request's client
    # address and path for an access line it then drops (hub CPU, QA issue 12 part 5)
    if workers > 1:
        prepare(settings)  # migrations, keys and token once, before the workers start
        # the workers build their settings from the environment (genomesh.hub.app)
        for name, value in overrides.items():
            os.environ[f"GENOMESH_HUB_{name.upper()}"] = str(value)
        uvicorn.run(
            "genomesh.web.app:create_hub_app_from_env", factory=True, host=host, port=port,
            workers=workers, log_level="warning", timeout_graceful_shutdown=2,
            access_log=False, **UVICORN_OPTIONS,
        )  # fmt: skip
        return
    app = create_hub_app(settings)  # the hub's API with the web portal at /
    # long-polls of dial-out nodes must not hold a shutdown for a whole poll period
    uvicorn.run(
        app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=2,
        access_log=False, **UVICORN_OPTIONS,
    )  # fmt: skip


@hub_app.command("migrate")
def migrate(
    directory: DirOption = Path("hub"),
    revision: Annotated[str, typer.Option(help="revision to upgrade to")] = "head",
) -> None:
    """Bring the hub database (hub and DAC tables) to the newest schema revision.

    The hub also does this when it starts; run it on its own before starting several
    workers or hub machines on one database, or to see what would change. A database made
    before migrations existed is brought to the initial revision and stamped with it."""
    from genomesh.core.settings import HubSettings
    from genomesh.hub.migrate import INITIAL, legacy, upgrade

    settings = HubSettings(hub_dir=directory)
    directory.mkdir(parents=True, exist_ok=True)
    from sqlalchemy import create_engine

    engine = create_engine(settings.state_database_url)
    try:
        was_legacy = legacy(engine)
        before, after = upgrade(engine, revision)
    finally:
        engine.dispose()
    if was_legacy:
        console.print(f"database made before migrations: stamped with revision {INITIAL}")
    if before == after:
        console.print(f"hub database already at revision {after}")
    else:
        console.print(f"hub database upgraded from {before or 'empty'} to revision {after}")


@hub_app.command("key")
def key(directory: DirOption = Path("hub")) -> None:
    """Print the hub's dial-out public key (give it to dial-out nodes as --hub-key)."""
    from genomesh.hub.signing import load_or_create_key, public_key_text

    print(public_key_text(load_or_create_key(directory)))


keys_app = typer.Typer(
    help="The hub's passport signing keys (HUB_DIR/keys): list, rotate, prune.",
    no_args_is_help=True,
)
hub_app.add_typer(keys_app, name="keys")


def _open_keys(directory: Path) -> Any:
    from genomesh.access.keys import KeyStore

    return KeyStore.open(directory / "keys", create=False)


def _iso(epoch: int | None) -> str:
    if not epoch:
        return "–"
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@keys_app.command("list")
def keys_list(directory: DirOption = Path("hub"), as_json: JsonOption = False) -> None:
    """The signing keys, oldest first: which is active, which are still published."""
    keys = _open_keys(directory)
    active = keys.active_kid
    published = {k["kid"] for k in keys.jwks()["keys"]}
    rows = []
    for kid in keys.kids():
        record = keys.record(kid)
        state = "active" if kid == active else "retired"
        rows.append(
            {"kid": kid, "alg": record.alg, "state": state, "created": _iso(record.created),
             "retired": _iso(record.retired), "last_token_expires": _iso(record.max_exp),
             "published": kid in published}
        )  # fmt: skip
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    print_rows(
        console,
        ["kid", "alg", "state", "created", "retired", "last token expires", "in JWKS"],
        [
            [
                r["kid"],
                r["alg"],
                r["state"],
                r["created"],
                r["retired"],
                r["last_token_expires"],
                "yes" if r["published"] else "no",
            ]
            for r in rows
        ],
        keep=["kid", "alg", "state", "created", "retired", "last token expires", "in JWKS"],
    )


@keys_app.command("rotate")
def keys_rotate(directory: DirOption = Path("hub")) -> None:
    """Make a fresh key active; the old one stays published until its tokens expire."""
    keys = _open_keys(directory)
    old = keys.active_kid
    kid = keys.rotate()
    print(f"active key {kid} (was {old}; a running hub picks it up on its next signature)")


@keys_app.command("prune")
def keys_prune(directory: DirOption = Path("hub")) -> None:
    """Delete retired keys whose every signed token has expired."""
    gone = _open_keys(directory).prune()
    print(f"removed {len(gone)} retired key(s)" + (": " + ", ".join(gone) if gone else ""))


@hub_app.command("register-node")
def register_node(
    name: Annotated[str, typer.Argument(help="node name (letters, digits, . _ -)")],
    url: Annotated[str, typer.Option(help='node base URL, or "dial-out"')],
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 country, e.g. NL")],
    contact: Annotated[str, typer.Option(help="contact e-mail or URL")] = "",
    public_key: Annotated[
        str | None, typer.Option(help="node's Ed25519 public key, or a file holding it")
    ] = None,
    audience: Annotated[
        str | None,
        typer.Option(
            help="the passport audience the node expects, if its genomesh.toml sets one "
            "(default: its base URL; dial-out: HUB/nodes/NAME)"
        ),
    ] = None,
    replace: Annotated[bool, typer.Option(help="update a node already registered")] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="register even if the node does not trust this hub"),
    ] = False,
    hub: HubOption = None,
    token: TokenOption = None,
    hub_dir: HubDirOption = None,
) -> None:
    """Register a node with the hub (admin).

    First checks that the node trusts this hub's passports and expects the audience the hub
    will use (from the node's /info); a node that does not is refused, saying what to fix,
    unless --force."""
    if public_key and Path(public_key).is_file():
        public_key = Path(public_key).read_text().strip()
    if url != "dial-out":
        from genomesh.cli.node_trust import hub_issuer, trust_problems

        problems, checked = trust_problems(
            url, issuer=hub_issuer(hub_url(hub)), audience=audience or url.rstrip("/")
        )
        if problems and not force:
            raise ConflictError(
                f"not registered: {'; '.join(problems)} (or --force to register anyway)"
            )
        for problem in problems:
            console.print(f"[yellow]warning:[/] {escape(problem)}", soft_wrap=True)
        if not problems:
            console.print(escape(checked), highlight=False)
    body = {"name": name, "base_url": url, "country": country, "contact": contact}
    if public_key:
        body["public_key"] = public_key
    if audience:
        body["audience"] = audience
    headers = admin_headers(token, hub_dir)
    if replace:
        node = hub_request("PUT", f"{hub_url(hub)}/nodes/{name}", json_body=body, headers=headers)
    else:
        node = hub_request("POST", f"{hub_url(hub)}/nodes", json_body=body, headers=headers)
    where = "dial-out" if node["dial_out"] else node["base_url"]
    console.print(
        f"registered [bold]{escape(node['name'])}[/] ({escape(node['country'])}) at {escape(where)}"
        f"; passport audience {escape(str(node.get('passport_audience')))}",
        soft_wrap=True,
    )


@hub_app.command("remove-node")
def remove_node(
    name: Annotated[str, typer.Argument(help="the registered node's name")],
    hub: HubOption = None,
    token: TokenOption = None,
    hub_dir: HubDirOption = None,
) -> None:
    """Remove a node from the hub (admin): it is asked no more queries and its datasets leave
    the catalogue. The node itself, its data and its audit log are untouched."""
    headers = admin_headers(token, hub_dir)
    node = hub_request("GET", f"{hub_url(hub)}/nodes/{name}")
    hub_request("DELETE", f"{hub_url(hub)}/nodes/{name}", headers=headers)
    where = "dial-out" if node.get("dial_out") else node.get("base_url")
    console.print(
        escape(f"removed node {name} ({node.get('country')}, {where}) and its catalogue entries"),
        highlight=False,
    )


@hub_app.command("nodes")
def nodes(hub: HubOption = None, as_json: JsonOption = False) -> None:
    """List the registered nodes."""
    listed = hub_request("GET", f"{hub_url(hub)}/nodes")
    if as_json:
        print(json.dumps(listed, indent=2))
        return
    rows = []
    for n in listed:
        where = n["base_url"] or "dial-out"
        if n["dial_out"]:
            where += (
                " (connected)" if (n.get("info") or {}).get("connected") else " (not connected)"
            )
        rows.append(
            [n["name"], n["country"], where, n["last_sync"] or "never", n["last_sync_error"] or ""]
        )
    print_rows(
        console,
        ["node", "country", "reached at", "last sync", "sync error"],
        rows,
        keep=["node", "country", "reached at", "last sync"],
    )


@hub_app.command("sync")
def sync(
    node: Annotated[list[str] | None, typer.Option(help="only this node (repeatable)")] = None,
    hub: HubOption = None,
    token: TokenOption = None,
    hub_dir: HubDirOption = None,
) -> None:
    """Re-sync the catalogue from the nodes now (admin)."""
    params = [("node", n) for n in node or []]
    result = hub_request(
        "POST",
        f"{hub_url(hub)}/catalogue/sync",
        params=params,
        headers=admin_headers(token, hub_dir),
    )
    for name, status in result["nodes"].items():
        shown = "[green]ok[/]" if status == "ok" else f"[red]{escape(status)}[/]"
        console.print(f"{escape(name)}: {shown}")  # a node's error text is printed literally


@catalogue_app.command("search")
def search(
    text: Annotated[str | None, typer.Argument(help="free text")] = None,
    duo: Annotated[str | None, typer.Option(help="DUO term, e.g. DUO:0000042")] = None,
    disease: Annotated[str | None, typer.Option(help="disease term or words")] = None,
    phenotype: Annotated[str | None, typer.Option(help="HPO term or words")] = None,
    country: Annotated[str | None, typer.Option(help="ISO country code")] = None,
    role: Annotated[
        str | None, typer.Option(help="cohort role: population, control or cases")
    ] = None,
    hub: HubOption = None,
    as_json: JsonOption = False,
) -> None:
    """Search the hub's dataset catalogue."""
    if country:
        from genomesh.core.countries import country_code

        country, alias = country_code(country, field="--country")
        if alias:
            console.print(f"[yellow]note:[/] {escape(alias)}", highlight=False)
    params = {
        k: v
        for k, v in {
            "q": text,
            "duo": duo,
            "disease": disease,
            "phenotype": phenotype,
            "country": country,
            "role": role,
        }.items()
        if v
    }
    found = hub_request("GET", f"{hub_url(hub)}/catalogue", params=params)
    from genomesh.hub.catalogue import disclosure_text

    if as_json:
        print(json.dumps(found, indent=2))
        return
    rows = []
    for entry in found["datasets"]:
        duo_text = ", ".join(
            f"{d['id']}" + (f" {d['label']}" if d.get("label") else "")
            for d in entry.get("duo", [])
        )
        counts = entry.get("counts") or {}
        rows.append(
            [
                entry["node"],
                entry["datasetId"],
                entry.get("country") or "",
                entry.get("assembly") or "",
                entry.get("cohortRole") or "",
                str(counts.get("individuals", "–")),
                duo_text,
                str(entry.get("name") or ""),  # node-provided: literal, never markup
                disclosure_text(entry.get("disclosure")),  # ε, exposure budget: what may hide
                # the citation users are asked to give: whole, never cut
                str(entry.get("citation") or ""),
            ]
        )
    print_rows(
        console,
        [
            *("node", "dataset", "country", "assembly", "role", "individuals"),
            *("DUO", "name", "privacy", "citation"),
        ],
        rows,
        title=f"{found['count']} dataset(s)",
        keep=["node", "dataset", "country", "assembly", "individuals"],
    )
    if not found["datasets"] and params:
        asked = ", ".join(f"{'text' if k == 'q' else k} {v}" for k, v in params.items())
        console.print(
            escape(
                f"no dataset in the catalogue matches all of: {asked} (the catalogue holds what "
                "the nodes last reported; `genomesh catalogue search` with no options lists all)"
            ),
            highlight=False,
        )


@node_app.command("dial-out")
def dial_out(
    directory: Annotated[Path, typer.Argument(help="node folder")],
    hub: Annotated[str | None, typer.Option("--hub", help="hub URL to dial out to")] = None,
    name: Annotated[
        str | None, typer.Option(help="the node's registered name (default: its settings name)")
    ] = None,
    hub_key: Annotated[
        str | None, typer.Option(help="the hub's public key (`genomesh hub key`); else pinned")
    ] = None,
    show_key: Annotated[
        bool, typer.Option(help="print this node's public key (to register it) and exit")
    ] = False,
) -> None:
    """Serve the hub without opening a port: long-poll it for queries, post signed answers."""
    from genomesh.node.dialout import build_client, node_key, public_key_text

    if not (directory / "genomesh.toml").is_file():
        raise NotFoundError(
            f"no node at {directory} (missing genomesh.toml; run `genomesh node init`)"
        )
    if show_key:
        print(public_key_text(node_key(directory)))
        return
    if not hub:
        raise InvalidInputError("give the hub to dial out to: --hub URL", field="hub")
    client = build_client(directory, hub_url=hub, name=name, hub_key=hub_key)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await client.run(
            stop=stop,
            on_connect=lambda: console.print(
                f"node [bold]{escape(client.name)}[/] dialled out to {escape(hub)}"
            ),
        )

    asyncio.run(main())


__all__ = ["admin_headers", "keys_app"]
