"""Configuration: embedded defaults need nothing; production refuses missing secrets by name."""

from __future__ import annotations

import pytest

from dcc import create_app
from dcc.config import Settings
from dcc.errors import ConfigurationError


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch) -> None:
    """These tests are about defaults: whatever the shell exported must not count."""
    import os

    for name in list(os.environ):
        if name.startswith(("DCC_", "TWILIO_")):
            monkeypatch.delenv(name)


def test_env_names_and_overrides() -> None:
    settings = Settings.from_env(
        {"DCC_DATABASE_URL": "postgresql://db/dcc", "DCC_PORT": "8080", "TWILIO_AUTH_TOKEN": "t"},
        overrides={"timezone": "Asia/Urumqi", "unknown_knob": 1},
    )
    assert settings.database_url == "postgresql://db/dcc" and settings.port == 8080
    assert settings.twilio_auth_token == "t" and settings.timezone == "Asia/Urumqi"
    assert settings.extra == {"unknown_knob": 1}
    assert not settings.embedded


def test_production_without_a_secret_key_refuses_to_start(tmp_path) -> None:
    with pytest.raises(ConfigurationError, match="DCC_SECRET_KEY"):
        create_app(
            {
                "database_url": "sqlite:///" + str(tmp_path / "x.db"),
                "redis_url": "redis://127.0.0.1:1/0",
                "instance_path": str(tmp_path),
            }
        )


def test_twilio_needs_its_settings(tmp_path) -> None:
    with pytest.raises(ConfigurationError) as info:
        create_app(
            {
                "telephony": "twilio",
                "secret_key": "s",
                "instance_path": str(tmp_path),
                "twilio_account_sid": "",
                "twilio_auth_token": "",
                "public_base_url": "",
            }
        )
    assert "TWILIO_ACCOUNT_SID" in info.value.message
    assert "TWILIO_AUTH_TOKEN" in info.value.message
    assert "DCC_PUBLIC_BASE_URL" in info.value.message


def test_the_embedded_mode_needs_nothing(tmp_path) -> None:
    app = create_app({"instance_path": str(tmp_path)})
    settings = app.extensions["dcc.settings"]
    assert settings.secret_key and settings.telephony == "sim"
    assert settings.twilio_api_base_url.startswith("http://127.0.0.1:")
    # The key is kept, so sessions survive a restart.
    assert create_app({"instance_path": str(tmp_path)}).config["SECRET_KEY"] == settings.secret_key
