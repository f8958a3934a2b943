"""`genomesh hub invite` and `genomesh node join`: a node joins a hub in one step.

The hub admin runs `genomesh hub invite NAME --country CC` and hands the one-time token to
the node's operator, who runs `genomesh node join DIR --hub URL --token T --url NODE_URL`
(or `--dial-out`). Then, with nothing copied by hand:

* the node trusts the hub's passports (`[[trusted_issuers]]`: issuer, JWKS, revocations),
  knows its own base URL and the audience the hub will send passports for, and its hub_url;
* the hub has registered the node with the node's Ed25519 key, so the notices it signs (a
  participant's withdrawal) are accepted;
* both sides checked: the hub took the token (once, unexpired, for this node's name) and
  says how it will address the node; the node re-reads its own configuration and checks it
  trusts that issuer, expects that audience and can sign notices - only then "joined".
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from genomesh.cli.apps import hub_app, node_app
from genomesh.cli.hub_commands import HubDirOption, TokenOption, admin_headers
from genomesh.cli.query_commands import HubOption, console, hub_request, hub_url
from genomesh.core.errors import InvalidInputError, UpstreamError


@hub_app.command("invite")
def invite(
    name: Annotated[str, typer.Argument(help="the node's name (as in its genomesh.toml)")],
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 country, e.g. NL")],
    contact: Annotated[str, typer.Option(help="contact e-mail or URL")] = "",
    days: Annotated[float, typer.Option(help="the token expires after this many days")] = 7,
    hub: HubOption = None,
    token: TokenOption = None,
    hub_dir: HubDirOption = None,
) -> None:
    """Invite a node (admin): prints a one-time token for `genomesh node join`."""
    from genomesh.core.countries import country_code

    code, _alias = country_code(country, field="--country")
    out = hub_request(
        "POST", f"{hub_url(hub)}/nodes/invitations",
        json_body={"name": name, "country": code, "contact": contact, "days": days},
        headers=admin_headers(token, hub_dir),
    )  # fmt: skip
    console.print(
        escape(f"invitation for node {out['name']} ({code}), valid until {out['expires_at']};")
        + " give the node's operator this command (the token is shown once):",
        highlight=False,
        soft_wrap=True,
    )
    print(f"genomesh node join NODE_DIR --hub {hub_url(hub)} --token {out['token']} --url NODE_URL")


def _toml_value(value: str) -> str:
    return json.dumps(value)  # a TOML basic string is a JSON string for these values


def _set_top_level(text: str, key: str, value: str) -> str:
    """Set `key = value` among the top-level keys (before the first [table])."""
    line = f"{key} = {_toml_value(value)}"
    pattern = re.compile(rf"^{re.escape(key)}\s*=.*$", re.MULTILINE)
    head, sep, tail = text.partition("\n[")
    if pattern.search(head):
        head = pattern.sub(line, head, count=1)
    else:
        head = head.rstrip("\n") + "\n" + line + "\n"
    return head + (sep + tail if sep else "")


def write_join_config(node_dir: Path, joined: dict[str, Any], *, base_url: str | None) -> None:
    """Write what the join answered into NODE_DIR/genomesh.toml (hub as trusted issuer)."""
    from genomesh.core.settings import NODE_CONFIG_NAME

    config = node_dir / NODE_CONFIG_NAME
    text = config.read_text()
    node = joined["node"]
    if base_url:
        text = _set_top_level(text, "base_url", base_url)
    text = _set_top_level(text, "hub_url", joined["hub_url"])
    own = base_url.rstrip("/") if base_url else None
    if node.get("passport_audience") and node["passport_audience"] != own:
        text = _set_top_level(text, "audience", node["passport_audience"])
    issuer = joined.get("issuer")
    trusted = {t.get("iss") for t in tomllib.loads(text).get("trusted_issuers", [])}
    if issuer and issuer not in trusted:
        lines = ["", "[[trusted_issuers]]", f"iss = {_toml_value(issuer)}"]
        for key in ("jwks_url", "revocations_url"):
            if joined.get(key):
                lines.append(f"{key} = {_toml_value(joined[key])}")
        text = text.rstrip("\n") + "\n" + "\n".join(lines) + "\n"
    config.write_text(text)


@node_app.command("join")
def join(
    directory: Annotated[Path, typer.Argument(help="the node folder")],
    hub: Annotated[str, typer.Option("--hub", help="the hub's URL")],
    token: Annotated[str, typer.Option("--token", help="the invitation token (`hub invite`)")],
    url: Annotated[
        str | None, typer.Option("--url", help="this node's base URL, as the hub will reach it")
    ] = None,
    dial_out: Annotated[
        bool, typer.Option("--dial-out", help="this node opens no port: it dials out to the hub")
    ] = False,
) -> None:
    """Join a hub with an invitation: trust its passports, register, check both sides."""
    from genomesh.core.settings import NodeSettings
    from genomesh.node.dialout import NODE_KEY_FILE, node_key, public_key_text

    if bool(url) == dial_out:
        raise InvalidInputError("give this node's --url, or --dial-out", field="--url")
    hub = hub.rstrip("/")
    settings = NodeSettings.load(directory)
    key = node_key(directory)  # signs withdrawal notices (and dial-out traffic)
    joined = hub_request(
        "POST", f"{hub}/nodes/join",
        json_body={"token": token, "name": settings.name, "base_url": url or "dial-out",
                   "public_key": public_key_text(key)},
    )  # fmt: skip
    write_join_config(directory, joined, base_url=url)
    # the node's side of the check: re-read the configuration the way `node serve` will
    after = NodeSettings.load(directory)
    problems = []
    if joined.get("issuer") and joined["issuer"] not in {t.iss for t in after.trusted_issuers}:
        problems.append(f"does not trust the hub's issuer {joined['issuer']}")
    audience = joined["node"].get("passport_audience")
    if audience and after.expected_audience != audience.rstrip("/"):
        problems.append(f"expects audience {after.expected_audience}, the hub sends {audience}")
    if not (Path(directory) / NODE_KEY_FILE).is_file() and not after.hub_secret:
        problems.append("cannot sign withdrawal notices (no node key)")
    if problems:
        raise UpstreamError(
            f"registered at {hub}, but this node's configuration {'; '.join(problems)}: "
            f"check {directory}/genomesh.toml"
        )
    console.print(
        escape(
            f"joined {hub} as {settings.name}: trusts issuer {joined.get('issuer')}, expects "
            f"audience {after.expected_audience}, signs notices with its key; "
        )
        + ("restart `genomesh node serve` to apply" if url else "start `genomesh node dial-out`"),
        highlight=False,
        soft_wrap=True,
    )


__all__ = ["write_join_config"]
