"""``mppay operators add|list|disable|reset-password`` on a real SQLite database."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mppay.cli import app


def test_operators_are_added_listed_reset_and_disabled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MPPAY_DATABASE_URL", f"sqlite:///{tmp_path / 'ops.sqlite3'}")
    monkeypatch.setenv("COLUMNS", "160")
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
        result = runner.invoke(app, ["operators", *args], input=stdin)
        return result.exit_code, result.output

    assert run(
        "add", "Alice", "--role", "support", "--password-stdin", stdin="long enough pw\n"
    ) == (
        0,
        "operator alice (support) added\n",
    )
    code, output = run("add", "alice", "--password-stdin", stdin="long enough pw\n")
    assert code == 1
    assert "OPERATOR_EXISTS" in output
    code, output = run("add", "bob", "--password-stdin", stdin="short\n")
    assert (code, "WEAK_PASSWORD" in output) == (1, True)
    code, output = run("add", "bob", "--password-stdin", stdin="sandbox-operator\n")
    assert (code, "published" in output) == (1, True)
    code, output = run("add", "bob", "--role", "root", "--password-stdin", stdin="long enough pw\n")
    assert (code, "INVALID_ROLE" in output) == (1, True)
    assert run("reset-password", "alice", "--password-stdin", stdin="another long pw\n")[0] == 0
    assert run("disable", "alice") == (0, "operator alice disabled\n")
    code, output = run("list")
    assert code == 0
    assert "alice" in output
    assert "support" in output
    assert "disabled" in output
    assert run("disable", "nobody")[0] == 1
