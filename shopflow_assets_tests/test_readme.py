"""Every `dagster` and `shopflow` command the README shows runs as written.

The commands are taken from the README itself (its ```bash blocks and inline code spans, in
document order) and run in a shell from the repository root against a temp landing folder, a temp
warehouse and a temp, initialised DAGSTER_HOME. Only the generator's volume is scaled down
(`--orders-per-day 2000` becomes 100) to keep the suite fast; every other word is the README's.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from shopflow_assets.lib.warehouse import connect
from shopflow_assets.sources import SOURCES

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
BIN = Path(sys.executable).parent
TOOLS = ("dagster", "shopflow")
# Long-running servers are started by `make dev`, not by a test.
SERVERS = ("dagster dev", "dagster-webserver", "dagster-daemon")


def _tool(command: str) -> str | None:
    words = shlex.split(command, comments=True)
    if not words:
        return None
    name = Path(words[0]).name
    return name if name in TOOLS and (words[0] == name or words[0] == f".venv/bin/{name}") else None


def readme_commands(text: str) -> list[str]:
    """The README's dagster and shopflow commands in document order: shell-block lines (with `\\`
    continuations joined) and inline code spans with arguments."""
    commands: list[str] = []
    in_block = False
    pending = ""
    for line in text.splitlines():
        if line.startswith("```"):
            in_block = not in_block and line.strip() in ("```bash", "```sh", "```shell")
            continue
        if in_block:
            pending += line.rstrip("\\").strip() + " " if line.rstrip().endswith("\\") else line.strip()
            if not line.rstrip().endswith("\\"):
                if _tool(pending):
                    commands.append(pending)
                pending = ""
            continue
        # an inline span is a command when it has arguments, not a mere name like `shopflow summary`
        spans = re.findall(r"`([^`\n]+)`", line)
        commands += [s for s in spans if _tool(s) and ("--" in s or len(s.split()) >= 5)]
    return [c for c in commands if not any(shlex.join(shlex.split(c)[:2]).endswith(s) for s in SERVERS)]


def test_readme_commands_are_found() -> None:
    """Guards the extraction: a README without these would make the next test vacuous."""
    commands = readme_commands(README.read_text())
    assert any(" generate " in c for c in commands)
    assert sum("asset materialize" in c for c in commands) >= 4
    assert any("quality-report" in c for c in commands)
    assert any(c.split()[0].endswith("shopflow") and c.split()[1] == "summary" for c in commands)


@pytest.fixture()
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO / ".dagster_home" / "dagster.yaml").read_text())
    values = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "SHOPFLOW_LANDING_DIR": str(tmp_path / "landing"),
        "SHOPFLOW_DUCKDB_PATH": str(tmp_path / "warehouse" / "shopflow.duckdb"),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    values.pop("SHOPFLOW_SLACK_WEBHOOK_URL", None)
    return values


def test_every_readme_command_runs_as_written(env: dict[str, str]) -> None:
    commands = readme_commands(README.read_text())
    generate = [c for c in commands if " generate " in c]
    assert generate, "the README must show how to generate data"
    ran = []
    # data first, then every command in document order
    for command in [generate[0], *commands]:
        # .venv/bin/<tool> is this interpreter's venv; --out defaults to $SHOPFLOW_LANDING_DIR
        runnable = re.sub(r"(^|\s)\.venv/bin/", rf"\g<1>{BIN}/", command)
        runnable = runnable.replace("--orders-per-day 2000", "--orders-per-day 100")
        proc = subprocess.run(
            ["bash", "-c", runnable], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        assert "Traceback" not in proc.stderr, f"{command}\n{proc.stderr[-3000:]}"
        ran.append(command)
    assert ran
    with connect(Path(env["SHOPFLOW_DUCKDB_PATH"]), read_only=True) as con:
        for name in SOURCES:
            (rows,) = con.execute(f"SELECT count(*) FROM bronze.{name}").fetchone()
            assert rows > 0, name
        (orders,) = con.execute("SELECT count(*) FROM silver.orders").fetchone()
        assert orders > 0
