"""The DAC commands' session with the hub: the cached session token, one HTTP call, and
printing an answer as JSON. Shared by `genomesh dac ...` (genomesh.cli.dac_commands) and
its code-of-conduct commands (genomesh.cli.governance_commands).

`genomesh dac login` caches the session token per hub in
`$XDG_CONFIG_HOME/genomesh/dac-tokens.json` (default ~/.config, mode 0600); `--token`
(env `GENOMESH_DAC_TOKEN`) overrides it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rich.console import Console

from genomesh.core import errors

console = Console(emoji=False)  # user-written text is printed literally


def token_file() -> Path:
    """Where session tokens are cached (one per hub URL)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "genomesh" / "dac-tokens.json"


def _read_tokens() -> dict[str, str]:
    path = token_file()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def save_token(hub: str, token: str | None) -> None:
    """Remember (or with None, forget) the token for `hub`; the file is private (0600)."""
    tokens = _read_tokens()
    if token is None:
        tokens.pop(hub.rstrip("/"), None)
    else:
        tokens[hub.rstrip("/")] = token
    path = token_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(tokens, handle, indent=2)
    os.chmod(path, 0o600)


def session_token(hub: str, token: str | None) -> str:
    """The token to send to `hub`: `token` if given, else the one `dac login` cached for it;
    without either, an AuthenticationError that says to log in."""
    found = token or _read_tokens().get(hub.rstrip("/"))
    if not found:
        raise errors.AuthenticationError(f"not logged in to {hub}; run `genomesh dac login`")
    return found


def call(
    hub: str,
    method: str,
    path: str,
    *,
    token: str | None = None,
    json_body: Any = None,
    params: dict[str, Any] | None = None,
) -> Any:
    """One request to the hub (genomesh.hub.dac.client); errors become GenomeshErrors."""
    from genomesh.hub.dac.client import DacClient

    with DacClient(hub, token=token) as client:
        return client.request(method, path, json_body=json_body, params=params)


def print_json(data: Any) -> None:
    """Print a hub answer as JSON (`--json`); values JSON cannot hold are printed as text."""
    console.print_json(json.dumps(data, default=str))


__all__ = ["call", "console", "print_json", "save_token", "session_token", "token_file"]
