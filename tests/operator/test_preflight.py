"""Issue 19 item 1 and 5: a configuration is checked completely before anything is served.

Every secret the file names must be present and every model priced (or ``price: free``);
``check-config`` lists each problem by its path and exits 2, and ``serve`` refuses to start.
Real processes: the installed ``doorman`` command.
"""

from __future__ import annotations

from pathlib import Path

from harness import run_cli
from services import free_port, port_open

MISSING = """
providers:
  openai: {kind: openai, base_url: "https://api.openai.com/v1", api_key_env: DM_OP_NOT_SET_1}
  claude: {kind: anthropic, base_url: "https://api.anthropic.com", api_key_env: DM_OP_NOT_SET_2}
  local: {kind: sim}
models:
  gpt-4o-mini: {provider: openai}
  claude-3-5-haiku: {provider: claude}
  my-finetune: {provider: openai}
  llama-local: {provider: local, price: free}
server: {metrics_token_env: DM_OP_NOT_SET_3}
alerts: {webhook_url: "http://127.0.0.1:9/hook", webhook_secret_env: DM_OP_NOT_SET_4}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "doorman.yaml"
    path.write_text(text)
    return path


def test_check_config_names_every_missing_secret_and_unpriced_model(tmp_path: Path) -> None:
    path = _write(tmp_path, MISSING)
    out = run_cli(tmp_path, "check-config", str(path), check=False)
    assert out.returncode == 2, out.stdout + out.stderr
    text = " ".join(out.stderr.split())  # rich wraps long lines
    for where, secret in (
        ("providers.openai.api_key_env", "DM_OP_NOT_SET_1"),
        ("providers.claude.api_key_env", "DM_OP_NOT_SET_2"),
        ("server.metrics_token_env", "DM_OP_NOT_SET_3"),
        ("alerts.webhook_secret_env", "DM_OP_NOT_SET_4"),
    ):
        assert f"{where}: the secret {secret} is not set" in text
    # Built-in prices count (gpt-4o-mini, claude-3-5-haiku); `price: free` is explicit.
    assert "models.my-finetune.price: no price is known for 'my-finetune'" in text
    assert "gpt-4o-mini.price" not in text and "llama-local" not in text
    assert "OK" not in out.stdout


def test_present_secrets_pass_and_the_sim_needs_no_key(tmp_path: Path) -> None:
    path = _write(tmp_path, MISSING.replace("  my-finetune: {provider: openai}\n", ""))
    env = {f"DM_OP_NOT_SET_{i}": f"value-{i}" for i in (1, 3, 4)}
    secret_file = tmp_path / "claude.key"
    secret_file.write_text("sk-ant-from-a-file\n")
    env["DM_OP_NOT_SET_2_FILE"] = str(secret_file)
    out = run_cli(tmp_path, "check-config", str(path), env=env, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("OK")


def test_serve_refuses_to_start_with_a_missing_provider_key(tmp_path: Path) -> None:
    port = free_port()
    config = MISSING.replace("server: {metrics_token_env: DM_OP_NOT_SET_3}", "")
    path = _write(tmp_path, config + f"server: {{port: {port}}}\n")
    out = run_cli(tmp_path, "serve", "--config", str(path), check=False, timeout=60)
    assert out.returncode == 2
    assert "providers.openai.api_key_env: the secret DM_OP_NOT_SET_1 is not set" in " ".join(
        out.stderr.split()
    )
    assert not port_open("127.0.0.1", port)
    assert not (tmp_path / "doorman.db").exists()  # nothing created before the refusal


def test_providers_only_config_says_models_are_missing(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "providers:\n  openai: {kind: openai, base_url: 'https://api.openai.com/v1'}\n",
    )
    out = run_cli(tmp_path, "check-config", str(path), check=False)
    assert out.returncode == 2
    text = " ".join(out.stderr.split())
    assert "models: no models are configured" in text
    assert "unknown provider 'sim'" not in text  # no complaint about models never written


def test_price_must_be_a_price_or_free(tmp_path: Path) -> None:
    path = _write(tmp_path, "models:\n  sim-small: {provider: sim, price: cheap}\n")
    out = run_cli(tmp_path, "check-config", str(path), check=False)
    assert out.returncode == 2
    assert "models.sim-small.price" in out.stderr and "'free'" in out.stderr


def test_version_and_help_on_every_command(tmp_path: Path) -> None:
    out = run_cli(tmp_path, "--version")
    assert out.stdout.startswith("doorman ") and out.stdout.split()[1][0].isdigit()
    # --help of every command and group, walked from the app (in-process: one CLI start
    # costs seconds on a loaded machine).
    import typer.main
    from typer.testing import CliRunner

    from doorman.cli import app

    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        paths.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(root, [])
    assert ["keys", "create"] in paths and ["ledger", "prune"] in paths and ["redteam"] in paths
    runner = CliRunner()
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output, path
