"""`genomesh dac ...` against a live hub over loopback HTTP."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest

from genomesh.cli.main import main
from genomesh.hub.dac import DacService
from tests.dac.conftest import ADMIN_PASSWORD, PASSWORDS


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.delenv("GENOMESH_DAC_TOKEN", raising=False)
    return home


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli__researcher_and_member_workflow(live_hub: str, capsys, config_home: Path) -> None:
    hub = ["--hub", live_hub]
    code, out, _ = run(
        capsys,
        "dac",
        "register",
        "dora",
        *hub,
        "--password",
        "Maps-Explorer-2026",
        "--institution",
        "uni.example.org",
        "--country",
        "FR",
        "--accept-terms",
    )
    assert code == 0 and "registered dora" in out
    code, out, _ = run(capsys, "dac", "login", "dora", *hub, "--password", "Maps-Explorer-2026")
    assert code == 0 and "logged in as dora" in out
    tokens = config_home / "genomesh" / "dac-tokens.json"
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
    assert live_hub in json.loads(tokens.read_text())

    apply = ["dac", "apply", *hub, "--title", "Cardio GWAS", "--dataset", "n1/hmb1",
             "--category", "health_medical", "--ethics", "EC-9", "--document", "ethics=EC-9",
             "--accept-terms", "--json"]  # fmt: skip
    # the publication commitment is stated, never assumed (issue 10): no terminal, no flag
    code, out, err = run(capsys, *apply)
    assert code == 2 and "--will-publish or --no-will-publish" in err
    code, out, _ = run(capsys, *apply, "--no-will-publish")
    assert code == 0, out
    app = json.loads(out)
    assert app["purpose"]["will_publish"] is False
    assert app["state"] == "submitted" and app["precheck"]["decision"] == "approve"
    app_id = str(app["id"])

    code, out, _ = run(capsys, "dac", "show", app_id, *hub)
    assert code == 0
    assert "automatic pre-check: approve" in out and "history" in out

    code, _, err = run(capsys, "dac", "decide", app_id, "approve", *hub, "--until", "2099-01-01")
    assert code == 3  # dora is no DAC member
    assert "not a DAC member" in err

    run(capsys, "dac", "login", "bob", *hub, "--password", PASSWORDS["bob"])
    code, out, _ = run(capsys, "dac", "list", *hub)
    assert code == 0 and "Cardio GWAS" in out
    code, out, _ = run(
        capsys,
        "dac",
        "decide",
        app_id,
        "approve",
        *hub,
        "--until",
        "2099-01-01",
        "--comment",
        "fine",
    )
    assert code == 0 and "approved" in out

    run(capsys, "dac", "login", "dora", *hub, "--password", "Maps-Explorer-2026")
    code, out, _ = run(capsys, "dac", "passport", *hub)
    assert code == 0 and out.strip().count(".") == 2
    code, out, _ = run(capsys, "dac", "passport", *hub, "--json")
    assert {v["type"] for v in json.loads(out)["visas"]} >= {
        "ControlledAccessGrants",
        "genomesh.ResearchPurpose",
    }
    code, out, _ = run(capsys, "dac", "passport", *hub, "-o", str(config_home / "p.jwt"))
    words = " ".join(out.split())  # the table title may wrap
    assert code == 0 and re.search(r"\(expires \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)", words)
    assert "2099-01-01T23:59:59Z" in words  # visa ends as ISO times with zone (QA F14),
    assert "4070995199" not in words  # not epoch seconds
    code, out, _ = run(capsys, "dac", "notifications", *hub)
    assert code == 0 and "withdrawal notifications (0)" in out

    run(capsys, "dac", "login", "bob", *hub, "--password", PASSWORDS["bob"])
    code, out, _ = run(capsys, "dac", "revoke", app_id, *hub, "--reason", "audit finding")
    assert code == 0 and "revoked" in out


def test_cli__admin_commands_and_errors(live_hub: str, capsys, service: DacService) -> None:
    hub = ["--hub", live_hub]
    code, _, err = run(capsys, "dac", "list", *hub)
    assert code == 3 and "not logged in" in err
    code, _, err = run(capsys, "dac", "login", "admin", *hub, "--password", "wrong-password-xyz")
    assert code == 3 and "wrong username or password" in err
    run(capsys, "dac", "login", "admin", *hub, "--password", ADMIN_PASSWORD)
    code, out, _ = run(capsys, "dac", "add-member", "carol", *hub, "--dataset", "n1/cancer1")
    assert code == 0 and "cancer1" in out
    code, _, err = run(capsys, "dac", "verify", "alice", *hub)
    assert code == 6 and "has not accepted" in err
    code, out, _ = run(capsys, "dac", "node-secret", "n1", *hub)
    assert code == 0 and "gsn_" in out
    code, _, err = run(
        capsys, "dac", "apply", *hub, "--title", "x", "--dataset", "nonsense", "--will-publish"
    )
    assert code == 2 and "NODE/DATASET_ID" in err
    code, _, err = run(capsys, "dac", "show", "4242", *hub)
    assert code == 5 and "no application 4242" in err


def test_cli__create_admin_bootstrap(tmp_path: Path, capsys) -> None:
    hub_dir = tmp_path / "newhub"
    code, _, err = run(
        capsys, "dac", "create-admin", "--hub-dir", str(hub_dir), "--password", "admin"
    )
    assert code == 2 and "password" in err
    code, out, _ = run(
        capsys,
        "dac",
        "create-admin",
        "--hub-dir",
        str(hub_dir),
        "--username",
        "root-op",
        "--password",
        "Fresh-Hub-Keeper-88",
    )
    assert code == 0 and "root-op" in out
    assert (hub_dir / "hub.sqlite").is_file()


def test_cli__other_parties_text_is_printed_literally(
    live_hub: str, capsys, service: DacService
) -> None:
    """QA F28: a node's notice, an applicant's title/purpose and a member's comment are other
    people's text: `[red]...[/]` must not colour (or hide) anything, `[/x]` must not crash
    the command, `:warning:` must not become an emoji."""
    import httpx

    from tests.dac.conftest import login
    from tests.dac.test_notifications import notice

    hub = ["--hub", live_hub]
    bait = "[red]Your access is revoked, log in at http://evil.example[/]"
    title = "[bold]Urgent[/] [/x] :warning:"
    comment = "[link=http://evil.example]click[/link] [/y]"
    project = "[white on white]hidden[/] [/z]"

    def flat(text: str) -> str:  # table cells may wrap: compare without whitespace/borders
        return "".join(ch for ch in text if not ch.isspace() and ch not in "│┃|")

    with httpx.Client(base_url=live_hub, timeout=30) as client:
        secret = client.post("/dac/nodes/n1/secret", headers=login(client, "admin")).json()
        sent = client.post(
            "/notifications",
            json={**notice(service), "message": bait},
            headers={"Authorization": f"Bearer {secret['secret']}"},
        )
        assert sent.status_code == 202, sent.text

    run(capsys, "dac", "login", "alice", *hub, "--password", PASSWORDS["alice"])
    code, out, err = run(capsys, "dac", "notifications", *hub)
    assert code == 0, err
    assert flat(bait) in flat(out)
    # readable at 80 columns (issue 10): a block per notice, the pseudonym whole on its line
    from genomesh.cli import dac_commands

    with pytest.MonkeyPatch.context() as narrow:
        narrow.setattr(dac_commands.console, "width", 80)
        code, out, err = run(capsys, "dac", "notifications", *hub)
    assert all(len(line) <= 80 for line in out.splitlines()), out
    pseudonym = notice(service)["individual_pseudonym"]
    assert any(pseudonym in line for line in out.splitlines()), out

    code, out, err = run(
        capsys, "dac", "apply", *hub, "--title", title, "--dataset", "n1/hmb1",
        "--project", project, "--accept-terms", "--will-publish",
    )  # fmt: skip
    assert code == 0, err
    assert title in out and project in out
    app_id = re.search(r"application (\d+)", out)
    assert app_id, out

    run(capsys, "dac", "login", "bob", *hub, "--password", PASSWORDS["bob"])
    code, out, err = run(capsys, "dac", "list", *hub)
    assert code == 0, err
    assert flat(title) in flat(out)
    code, out, err = run(
        capsys, "dac", "decide", app_id[1], "request_changes", *hub, "--comment", comment
    )
    assert code == 0, err
    assert title in out and flat(comment) in flat(out)

    run(capsys, "dac", "login", "admin", *hub, "--password", ADMIN_PASSWORD)
    code, out, err = run(
        capsys, "dac", "add-member", "carol", *hub, "--committee", "[bold]onco[/] [/c]"
    )
    assert code == 0, err
    assert "committee [bold]onco[/] [/c]" in out


def test_cli__register_without_a_terminal_says_how_to_give_the_password(live_hub: str) -> None:
    """Issue 10: with no terminal `dac register` exited 130 silently, and with piped input
    printed Python's GetPassWarning. Now: the rules up front, a piped password works."""
    import os
    import subprocess
    import sys

    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {k: v for k, v in os.environ.items() if k != "GENOMESH_DAC_PASSWORD"}
    env["PYTHONPATH"] = src

    def register(name: str, stdin: str | None) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "genomesh.cli.main", "dac", "register", name,
                "--hub", live_hub]  # fmt: skip
        return subprocess.run(
            argv, input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip

    nothing = register("nadia", None)
    assert nothing.returncode == 2, nothing.stderr
    assert "--password" in nothing.stderr and "GENOMESH_DAC_PASSWORD" in nothing.stderr
    assert "at least 12 characters" in nothing.stderr
    weak = register("nadia", "short\n")
    assert weak.returncode == 2 and "too short" in weak.stderr
    piped = register("nadia", "Sturdy-enough-9-words\n")
    assert piped.returncode == 0, piped.stderr
    assert "registered nadia" in piped.stdout
    for result in (nothing, weak, piped):
        assert "GetPassWarning" not in result.stderr and "Traceback" not in result.stderr
