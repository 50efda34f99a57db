"""Settings from defaults, config.toml and GAIA_* variables; the GAIA_HOME tree."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gaia.config import default_tmux_socket, load_settings
from gaia.errors import ConfigError
from gaia.home import GaiaHome

KNOWN_KEYS = (
    "agent_close_grace, agent_task_timeout, agent_workers, agent_worktree_retention, agents, "
    "containment, database_url, heartbeat_interval, host, kill_grace_period, log_level, "
    "max_request_body, port, "
    "service_history_limit, service_log_backups, service_log_max_bytes, "
    "service_metrics_interval, service_start_seconds, "
    "session_idle_timeout, session_reconcile_interval, "
    "stale_heartbeat, tmux_socket, "
    "workflow_max_parallel"
)


def write_config(home: Path, text: str) -> Path:
    path = home / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def config_error(home: Path, environ: dict[str, str] | None = None, **overrides: object) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(home=home, environ=environ or {}, **overrides)
    return str(info.value)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_defaults_without_config_file(gaia_home: Path) -> None:
    """With no file and no variables every key has its documented default."""
    settings = load_settings(home=gaia_home, environ={})
    assert settings.host == "127.0.0.1"
    assert settings.port == 8765
    assert settings.tmux_socket == default_tmux_socket(gaia_home)
    assert settings.log_level == "info"
    assert settings.workflow_max_parallel == 16
    assert settings.kill_grace_period == 5.0
    assert settings.session_idle_timeout == 86400.0
    assert settings.database_url is None
    assert settings.home == gaia_home.resolve()
    assert settings.resolved_database_url == f"sqlite:///{gaia_home.resolve() / 'gaia.db'}"


def test_home_comes_from_gaia_home_variable(tmp_path: Path) -> None:
    """Without a home argument, GAIA_HOME in the environment picks the directory."""
    home = tmp_path / "elsewhere"
    home.mkdir()
    write_config(home, "port = 9001\n")
    settings = load_settings(environ={"GAIA_HOME": str(home)})
    assert settings.home == home.resolve()
    assert settings.port == 9001


def test_config_file_values_are_read(gaia_home: Path) -> None:
    """Keys in config.toml override the defaults."""
    write_config(
        gaia_home,
        'host = "0.0.0.0"\nport = 9000\ntmux_socket = "work"\nlog_level = "debug"\n'
        'database_url = "postgresql://db/gaia"\n',
    )
    settings = load_settings(home=gaia_home, environ={})
    assert settings.host == "0.0.0.0"
    assert settings.port == 9000
    assert settings.tmux_socket == "work"
    assert settings.log_level == "debug"
    assert settings.database_url == "postgresql://db/gaia"
    assert settings.resolved_database_url == "postgresql://db/gaia"


def test_environment_overrides_config_file(gaia_home: Path) -> None:
    """GAIA_PORT wins over port in config.toml."""
    write_config(gaia_home, "port = 9000\n")
    settings = load_settings(home=gaia_home, environ={"GAIA_PORT": "9100"})
    assert settings.port == 9100


def test_keyword_arguments_override_environment(gaia_home: Path) -> None:
    """Keyword overrides win over both the environment and the file."""
    write_config(gaia_home, "port = 9000\n")
    settings = load_settings(home=gaia_home, environ={"GAIA_PORT": "9100"}, port=9200)
    assert settings.port == 9200


def test_tmux_socket_is_derived_from_the_home(tmp_path: Path) -> None:
    """Two homes get two tmux servers; one home, however it is spelled, always the same."""
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    socket = load_settings(home=first, environ={}).tmux_socket
    assert socket.startswith("gaia-")
    assert socket != load_settings(home=second, environ={}).tmux_socket
    assert load_settings(home=tmp_path / "b" / ".." / "a", environ={}).tmux_socket == socket
    via_variable = load_settings(environ={"GAIA_HOME": str(first)})
    assert via_variable.tmux_socket == socket
    # An explicit name wins, from the file or the environment.
    write_config(first, 'tmux_socket = "mine"\n')
    assert load_settings(home=first, environ={}).tmux_socket == "mine"
    env = {"GAIA_TMUX_SOCKET": "theirs"}
    assert load_settings(home=first, environ=env).tmux_socket == "theirs"


def test_tmux_socket_and_database_url_from_environment(gaia_home: Path) -> None:
    """GAIA_TMUX_SOCKET and GAIA_DATABASE_URL set their keys."""
    settings = load_settings(
        home=gaia_home,
        environ={"GAIA_TMUX_SOCKET": "other", "GAIA_DATABASE_URL": "sqlite:////srv/g.db"},
    )
    assert settings.tmux_socket == "other"
    assert settings.database_url == "sqlite:////srv/g.db"
    assert settings.resolved_database_url == "sqlite:////srv/g.db"


def test_unrelated_environment_is_ignored(gaia_home: Path) -> None:
    """Variables that are not GAIA_<KEY> for a known key do not affect settings."""
    settings = load_settings(home=gaia_home, environ={"PORT": "1", "GAIA_COLOUR": "red"})
    assert settings.port == 8765


def test_invalid_file_value_names_key_and_file(gaia_home: Path) -> None:
    """A bad value in config.toml is reported with the key and the file's path."""
    path = write_config(gaia_home, 'port = "lots"\n')
    assert config_error(gaia_home) == (
        f"invalid configuration: 'port' in {path.resolve()}: "
        "Input should be a valid integer, unable to parse string as an integer"
    )


def test_out_of_range_file_value_names_key_and_file(gaia_home: Path) -> None:
    """A port above 65535 in config.toml names the key, the file and the bound."""
    path = write_config(gaia_home, "port = 70000\n")
    assert config_error(gaia_home) == (
        f"invalid configuration: 'port' in {path.resolve()}: "
        "Input should be less than or equal to 65535"
    )


def test_invalid_environment_value_names_variable(gaia_home: Path) -> None:
    """A bad GAIA_PORT is reported as coming from that variable, not from the file."""
    write_config(gaia_home, "port = 9000\n")
    assert config_error(gaia_home, {"GAIA_PORT": "abc"}) == (
        "invalid configuration: 'port' in environment variable GAIA_PORT: "
        "Input should be a valid integer, unable to parse string as an integer"
    )


def test_invalid_keyword_argument_says_arguments(gaia_home: Path) -> None:
    """A bad keyword override is reported as coming from the arguments."""
    assert config_error(gaia_home, log_level="loud").startswith(
        "invalid configuration: 'log_level' in arguments: "
    )


def test_unknown_key_in_file_lists_known_keys(gaia_home: Path) -> None:
    """An unknown key in config.toml is named, with the file and every known key."""
    path = write_config(gaia_home, 'colour = "red"\n')
    assert config_error(gaia_home) == (
        f"invalid configuration: 'colour' in {path.resolve()}: "
        f"unknown key (known keys: {KNOWN_KEYS})"
    )


def test_toml_syntax_error_names_file_and_line(gaia_home: Path) -> None:
    """Invalid TOML is reported with the file's path and the line and column."""
    path = write_config(gaia_home, 'host = "0.0.0.0"\nport = \n')
    assert config_error(gaia_home) == f"{path.resolve()}:2:8: invalid TOML: Invalid value"


def test_home_key_in_file_is_rejected(gaia_home: Path) -> None:
    """config.toml cannot move the home directory it lives in."""
    path = write_config(gaia_home, 'home = "/tmp/other"\n')
    assert config_error(gaia_home) == (
        f"invalid configuration: 'home' in {path.resolve()}: "
        "the home directory is chosen with $GAIA_HOME, not in config.toml"
    )


@pytest.mark.parametrize(("text", "seconds"), [('"90s"', 90.0), ('"1m30s"', 90.0), ("3", 3.0)])
def test_duration_keys_accept_human_durations(gaia_home: Path, text: str, seconds: float) -> None:
    """kill_grace_period in the file takes '90s', '1m30s' or a plain number of seconds."""
    write_config(gaia_home, f"kill_grace_period = {text}\n")
    assert load_settings(home=gaia_home, environ={}).kill_grace_period == seconds


def test_duration_from_environment(gaia_home: Path) -> None:
    """GAIA_KILL_GRACE_PERIOD and GAIA_HEARTBEAT_INTERVAL accept unit strings."""
    settings = load_settings(
        home=gaia_home,
        environ={"GAIA_KILL_GRACE_PERIOD": "250ms", "GAIA_HEARTBEAT_INTERVAL": "2m"},
    )
    assert settings.kill_grace_period == 0.25
    assert settings.heartbeat_interval == 120.0


def test_invalid_duration_in_file_names_key_and_file(gaia_home: Path) -> None:
    """A bad duration in config.toml names the key, the file and the accepted units."""
    path = write_config(gaia_home, 'kill_grace_period = "9x"\n')
    message = config_error(gaia_home)
    assert message.startswith(f"invalid configuration: 'kill_grace_period' in {path.resolve()}: ")
    assert "invalid duration '9x': use a number with a unit (ms, s, m, h, d)" in message


def test_settings_are_frozen(gaia_home: Path) -> None:
    """Settings cannot be changed after loading."""
    settings = load_settings(home=gaia_home, environ={})
    with pytest.raises(Exception, match="frozen"):
        settings.port = 1  # type: ignore[misc]


def test_ensure_creates_tree_with_private_root(tmp_path: Path) -> None:
    """ensure() creates the home and its subdirectories, the root with mode 0700."""
    home = GaiaHome(tmp_path / "new" / "home").ensure()
    assert mode(home.root) == 0o700
    for sub in (home.logs, home.workflow_logs, home.workflow_definitions, home.templates):
        assert sub.is_dir()
    assert home.workflow_logs == home.root / "logs" / "workflows"
    assert home.workflow_definitions == home.root / "workflows" / "definitions"


def test_ensure_tightens_existing_root(tmp_path: Path) -> None:
    """ensure() on an existing world-readable home sets it to 0700 and is idempotent."""
    root = tmp_path / "home"
    root.mkdir(mode=0o755)
    root.chmod(0o755)
    GaiaHome(root).ensure()
    GaiaHome(root).ensure()
    assert mode(root) == 0o700


def test_token_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    """The first call creates a 0600 token file; the second returns the same token."""
    home = GaiaHome(tmp_path).ensure()
    token = home.read_or_create_token()
    assert len(token) >= 32
    assert mode(home.token_file) == 0o600
    assert home.token_file.read_text(encoding="utf-8") == token + "\n"
    assert home.read_or_create_token() == token
    assert GaiaHome(tmp_path).read_or_create_token() == token


def test_token_file_with_loose_mode_is_tightened(tmp_path: Path) -> None:
    """An existing token file readable by others is kept but reset to 0600."""
    home = GaiaHome(tmp_path)
    home.token_file.write_text("given-token\n", encoding="utf-8")
    home.token_file.chmod(0o644)
    assert home.read_or_create_token() == "given-token"
    assert mode(home.token_file) == 0o600


def test_empty_token_file_is_replaced(tmp_path: Path) -> None:
    """An empty token file is replaced by a fresh token."""
    home = GaiaHome(tmp_path)
    home.token_file.write_text("", encoding="utf-8")
    token = home.read_or_create_token()
    assert token
    assert home.token_file.read_text(encoding="utf-8") == token + "\n"
    assert mode(home.token_file) == 0o600
