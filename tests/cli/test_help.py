"""Every command has --help with an example; ``escsim --version`` prints the version.

Commands are discovered from the typer app (commands added later are checked too).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from sim import __version__
from sim.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def command_paths(group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and sub-command of a (typer's own) click group, as argv prefixes."""
    out = []
    for name, cmd in sorted(group.commands.items()):
        out.append(prefix + (name,))
        if hasattr(cmd, "commands"):  # a group of sub-commands
            out += command_paths(cmd, prefix + (name,))
    return out


COMMANDS = command_paths(typer.main.get_command(app))


def test_the_core_commands_are_discovered():
    assert {("run",), ("validate",), ("replay",)} <= set(COMMANDS)


def test_top_level_help_has_an_example_and_lists_every_command():
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0, res.output
    assert "Example" in res.output
    for path in COMMANDS:
        if len(path) == 1:
            assert path[0] in res.output


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_help_exits_0_with_an_example(path):
    res = runner.invoke(app, [*path, "--help"], terminal_width=200)
    assert res.exit_code == 0, res.output
    assert "Example" in res.output, res.output
    example = next(line for line in res.output.splitlines() if "Example" in line)
    assert "escsim" in example, example  # the example is a command line


def test_every_command_docstring_ends_with_an_example_line():
    group = typer.main.get_command(app)
    for path in COMMANDS:
        cmd = group
        for name in path:
            cmd = cmd.commands[name]
        lines = [x for x in (cmd.help or "").strip().splitlines() if x.strip()]
        assert lines and lines[-1].lstrip().startswith("Example:"), (path, lines[-1:])


def test_version_in_process_and_installed():
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.strip() == f"escsim {__version__}"
    uv = shutil.which("uv")
    script = Path(sys.executable).parent / "escsim"
    cmd = [uv, "run", "--project", str(ROOT), "escsim"] if uv else [str(script)]
    proc = subprocess.run([*cmd, "--version"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == f"escsim {__version__}", proc.stderr
