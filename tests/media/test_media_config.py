"""The [media] config section: ICE servers, the public address, timeouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_config_has_a_media_section_with_no_public_stun_server() -> None:
    media = load_config(ROOT / "config.toml", {}).media
    assert media.stun_servers == [] and media.turn_servers == []
    assert media.workers == 0 and media.connect_timeout_seconds > 0


def test_servers_and_address_from_the_file_and_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[media]\nstun_servers = ["stun:stun.example.net:3478"]\n'
                    'turn_servers = [{ url = "turn:turn.example.net:3478", username = "u", credential = "p" }]\n')
    media = load_config(path, {"WECC__MEDIA__PUBLIC_IP": "203.0.113.7", "WECC__MEDIA__WORKERS": "3"}).media
    assert media.stun_servers == ["stun:stun.example.net:3478"]
    assert media.turn_servers[0].credential.get_secret_value() == "p"
    assert (media.public_ip, media.workers) == ("203.0.113.7", 3)


@pytest.mark.parametrize(
    ("environ", "key", "words"),
    [
        ({"WECC__MEDIA__PUBLIC_IP": "gateway.example.com"}, "media.public_ip", "not an IP address"),
        ({"WECC__MEDIA__STUN_SERVERS": '["stun.example.net:3478"]'}, "media.stun_servers", "does not start with stun:"),
        ({"WECC__MEDIA__TURN_SERVERS": '[{ url = "stun:x:1" }]'}, "media.turn_servers.0.url", "match pattern"),
        ({"WECC__MEDIA__CONNECT_TIMEOUT_SECONDS": "0"}, "media.connect_timeout_seconds", "greater than 0"),
    ],
)
def test_bad_media_settings_name_the_key(environ: dict[str, str], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, environ)
    assert info.value.key == key and words in info.value.problem
