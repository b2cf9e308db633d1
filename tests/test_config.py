"""Bad configuration stops the start with one line naming the file, the key and the problem."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problem(path: Path | None, environ: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path, environ or {})
    return info.value


def test_the_shipped_config_toml_loads() -> None:
    config = load_config(ROOT / "config.toml", {})
    assert config.demo.enabled
    assert config.data_dir == ROOT / "data"
    assert config.database_url == f"sqlite+aiosqlite:///{ROOT / 'data' / 'wecc.db'}"


def test_unknown_key_in_a_section(tmp_path: Path) -> None:
    path = write(tmp_path, '[server]\nport = 8080\ncolour = "red"\n')
    err = problem(path)
    assert (err.source, err.key, err.problem) == (str(path), "server.colour", "unknown key")
    assert str(err) == f"{path}: server.colour: unknown key"


def test_unknown_key_at_top_level(tmp_path: Path) -> None:
    path = write(tmp_path, "whatever = 1\n")
    err = problem(path)
    assert (err.key, err.problem) == ("whatever", "unknown key")


def test_unknown_section(tmp_path: Path) -> None:
    err = problem(write(tmp_path, "[sever]\nport = 1\n"))
    assert (err.key, err.problem) == ("sever", "unknown key")


@pytest.mark.parametrize("reserved", ["source", "base_dir"])
def test_internal_fields_cannot_be_set_from_the_file(tmp_path: Path, reserved: str) -> None:
    err = problem(write(tmp_path, f'{reserved} = "/etc"\n'))
    assert (err.key, err.problem) == (reserved, "unknown key")


def test_wrong_type_names_the_expected_type_and_the_value(tmp_path: Path) -> None:
    err = problem(write(tmp_path, '[server]\nport = "8080"\n'))
    assert err.key == "server.port"
    assert "integer" in err.problem and "'8080'" in err.problem


def test_out_of_range_value(tmp_path: Path) -> None:
    err = problem(write(tmp_path, "[server]\nport = 70000\n"))
    assert err.key == "server.port"
    assert "65535" in err.problem


def test_section_that_is_not_a_table(tmp_path: Path) -> None:
    err = problem(write(tmp_path, "server = 5\n"))
    assert err.key == "server"


@pytest.mark.parametrize(
    ("text", "key", "schemes"),
    [
        ('[database]\nurl = "mysql://db/x"\n', "database.url", "postgresql+asyncpg://"),
        ('[database]\nurl = "postgresql://db/x"\n', "database.url", "postgresql+asyncpg://"),
        ('[redis]\nurl = "http://127.0.0.1:6379"\n', "redis.url", "redis://"),
    ],
)
def test_bad_url_scheme(tmp_path: Path, text: str, key: str, schemes: str) -> None:
    err = problem(write(tmp_path, text))
    assert err.key == key
    assert schemes in err.problem


def test_bad_toml_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[server\nport = 1\n")
    err = problem(path)
    assert err.source == str(path)
    assert "not valid TOML" in err.problem and "line 1" in err.problem
    assert "\n" not in str(err)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    err = problem(path)
    assert str(err) == f"{path}: file not found"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[server]\nport = 8080\nhost = "0.0.0.0"\n')
    config = load_config(path, {"WECC__SERVER__PORT": "9090", "WECC__REDIS__URL": "redis://x", "OTHER": "1"})
    assert config.server.port == 9090  # a TOML integer, not the string "9090"
    assert config.redis.url == "redis://x"  # no quotes needed for a plain string
    assert config.server.host == "0.0.0.0"  # untouched keys keep the file's value


def test_environment_values_are_read_as_toml(tmp_path: Path) -> None:
    config = load_config(None, {"WECC__SERVER__SECURE_COOKIES": "true", "WECC__CHANNELS__ECHO__TENANTS": '["a", "b"]'})
    assert config.server.secure_cookies is True
    assert config.channels["echo"].tenants == ["a", "b"]


def test_environment_unknown_key_names_the_variable(tmp_path: Path) -> None:
    path = write(tmp_path, "[server]\nport = 8080\n")
    err = problem(path, {"WECC__SERVER__COLOUR": "red"})
    assert err.source == "environment WECC__SERVER__COLOUR"
    assert (err.key, err.problem) == ("server.colour", "unknown key")


def test_environment_wrong_type_names_the_variable() -> None:
    err = problem(None, {"WECC__SERVER__PORT": "abc"})
    assert err.source == "environment WECC__SERVER__PORT"
    assert err.key == "server.port" and "'abc'" in err.problem


def test_a_bad_file_value_is_blamed_on_the_file_not_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, '[server]\nport = "x"\n')
    err = problem(path, {"WECC__SERVER__HOST": "0.0.0.0"})
    assert (err.source, err.key) == (str(path), "server.port")


def test_relative_data_dir_is_resolved_against_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "conf").mkdir()
    path = write(tmp_path / "conf", '[data]\ndir = "state"\n')
    monkeypatch.chdir(tmp_path)
    assert load_config(path, {}).data_dir == tmp_path / "conf" / "state"


# --- through the command line ---------------------------------------------------------------


def run_gateway(config: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "run.py", "--config", str(config)],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], config: Path, key: str, words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert str(config) in lines[0] and key in lines[0] and words in lines[0], lines[0]
    assert result.stdout == ""  # no banner: nothing started


def test_cli_unknown_key_exits_2_with_one_line(tmp_path: Path) -> None:
    config = write(tmp_path, f'[data]\ndir = "{tmp_path / "data"}"\n[server]\nport = 0\ncolour = "red"\n')
    assert_one_line_error(run_gateway(config), config, "server.colour", "unknown key")


def test_cli_unreachable_redis_exits_2_with_one_line(tmp_path: Path) -> None:
    config = write(
        tmp_path, f'[data]\ndir = "{tmp_path / "data"}"\n[server]\nport = 0\n[redis]\nurl = "redis://127.0.0.1:1"\n'
    )
    assert_one_line_error(run_gateway(config), config, "redis.url", "cannot connect")


def test_cli_unreachable_database_exits_2_with_one_line(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        f'[data]\ndir = "{tmp_path / "data"}"\n[server]\nport = 0\n'
        '[database]\nurl = "postgresql+asyncpg://postgres@127.0.0.1:1/x"\n',
    )
    result = run_gateway(config)
    assert_one_line_error(result, config, "database.url", "cannot connect")
    # The embedded Redis had started before the database was tried: it must not be left behind.
    assert processes_mentioning(str(tmp_path)) == []


def test_cli_port_in_use_exits_2_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write(
            tmp_path,
            f'[data]\ndir = "{tmp_path / "data"}"\n[server]\nhost = "127.0.0.1"\nport = {port}\n'
            '[logging]\nlevel = "WARNING"\n',
        )
        result = run_gateway(config)
    assert_one_line_error(result, config, "server.port", "address already in use")
    assert processes_mentioning(str(tmp_path)) == []


def processes_mentioning(text: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if text.encode() in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
    return found
