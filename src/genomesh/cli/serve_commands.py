"""`genomesh node serve DIR`: run a node (Beacon v2 API at the root) with uvicorn."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from genomesh.cli.apps import node_app
from genomesh.core.errors import InvalidInputError


@node_app.command("serve")
def serve(
    node_dir: Annotated[Path, typer.Argument(help="the node folder (with genomesh.toml)")],
    host: Annotated[str, typer.Option(help="address to bind (loopback by default)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8100,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "warning",
    workers: Annotated[
        int, typer.Option(help="worker processes (each opens the store; use one per core)")
    ] = 1,
    dial_out: Annotated[
        str | None,
        typer.Option(
            "--dial-out",
            metavar="HUB_URL",
            help="open no port: hold a connection to this hub and answer what it relays",
        ),
    ] = None,
    hub_key: Annotated[
        str | None,
        typer.Option(help="with --dial-out: the hub's public key (`genomesh hub key`)"),
    ] = None,
    dask_scheduler: Annotated[
        str | None,
        typer.Option(
            "--dask-scheduler",
            metavar="tcp://HOST:PORT",
            help="run analyses on this Dask distributed scheduler (default: local threads)",
        ),
    ] = None,
) -> None:
    """Serve the node: Beacon v2 at the root (/info, /g_variants ...), /openapi.json, /participants.

    Settings come from NODE_DIR/genomesh.toml, overridden by GENOMESH_* environment variables.
    With --dial-out HUB_URL the node opens no port at all (for custodians that accept no
    inbound connections); researchers reach it through the hub exactly like a served node.
    """
    if dask_scheduler is not None:
        if "://" not in dask_scheduler:
            raise InvalidInputError(
                f"--dask-scheduler {dask_scheduler!r} is not an address like tcp://HOST:PORT",
                field="--dask-scheduler",
            )
        # an environment override reaches every worker process and the dial-out client alike
        os.environ["GENOMESH_DASK_SCHEDULER"] = dask_scheduler
    if dial_out is not None:
        from genomesh.cli.hub_commands import dial_out as run_dial_out

        run_dial_out(node_dir, hub=dial_out, name=None, hub_key=hub_key, show_key=False)
        return
    import uvicorn

    from genomesh.cli.serving import UVICORN_OPTIONS
    from genomesh.core.settings import NodeSettings
    from genomesh.node.app import preflight
    from genomesh.web.app import create_node_app  # the node's API with its custodian view

    if not 0 < port < 65536:
        raise InvalidInputError(f"port must be 1-65535, got {port}", field="port")
    if workers < 1:
        raise InvalidInputError(f"workers must be at least 1, got {workers}", field="workers")
    settings = NodeSettings.load(node_dir)
    base_url_set = "base_url" in settings.model_fields_set
    if settings.base_url == NodeSettings().base_url:
        settings = settings.model_copy(update={"base_url": f"http://{host}:{port}"})
    preflight(settings)  # configuration errors: one line and an exit code, no traceback
    from genomesh.cli.serve_checks import serve_warnings
    from genomesh.node.dialout import NODE_KEY_FILE

    for warning in serve_warnings(
        settings,
        base_url_set=base_url_set,
        key_file_exists=(Path(node_dir) / NODE_KEY_FILE).is_file(),
    ):
        typer.secho(f"warning: {warning}", fg="yellow", err=True)
    typer.echo(f"genomesh node {settings.name!r} serving {node_dir} on http://{host}:{port}")
    if workers == 1:
        app = create_node_app(settings)
        uvicorn.run(
            app, host=host, port=port, log_level=log_level, access_log=False, **UVICORN_OPTIONS
        )
        return
    # preflight() above created the state schema once, before the workers could race on it.
    os.environ["GENOMESH_NODE_DIR"] = str(Path(node_dir).resolve())
    os.environ.setdefault("GENOMESH_BASE_URL", settings.base_url)
    uvicorn.run(
        "genomesh.web.app:create_node_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
        **UVICORN_OPTIONS,
    )
