"""Configuration: embedded defaults need nothing; production refuses missing secrets by name."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dcc import create_app
from dcc.config import Settings
from dcc.errors import ConfigurationError
from dcc.serve import simulator_command, simulator_config
from dcc.voice import get_telephony


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch) -> None:
    """These tests are about defaults: whatever the shell exported must not count."""
    for name in list(os.environ):
        if name.startswith(("DCC_", "TWILIO_")) and not name.startswith("DCC_TEST_"):
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


# --- start-up validation: every bad setting is named, and stops start-up with exit code 2 ---

SERVERS = {
    "DCC_DATABASE_URL": "postgresql://dcc@db.example.internal/dcc",
    "DCC_REDIS_URL": "redis://redis.example.internal:6379/0",
    "DCC_SECRET_KEY": "a-long-enough-secret-for-sessions",
    "DCC_METRICS_TOKEN": "scrape-token",
}
TWILIO = {
    **SERVERS,
    "DCC_TELEPHONY": "twilio",
    "TWILIO_ACCOUNT_SID": "AC" + "a" * 32,
    "TWILIO_AUTH_TOKEN": "token",
    "DCC_PUBLIC_BASE_URL": "https://dcc.example.com",
}

BAD_SETTINGS = [
    ({"DCC_TIMEZONE": "Mars/Base"}, "DCC_TIMEZONE", "Mars/Base"),
    ({"DCC_CALLING_HOURS": "8-21"}, "DCC_CALLING_HOURS", "08:00-21:00"),
    ({"DCC_OPENING_HOURS": "20:00-08:30"}, "DCC_OPENING_HOURS", "before the end"),
    ({"DCC_CALLING_HOURS": "08:00-25:00"}, "DCC_CALLING_HOURS", "time of day"),
    ({"DCC_REDIS_URL": "redis://127.0.0.1:6379/0"}, "DCC_DATABASE_URL", "DCC_REDIS_URL"),
    ({**SERVERS, "DCC_SECRET_KEY": ""}, "DCC_SECRET_KEY", "required"),
    ({**SERVERS, "DCC_SECRET_KEY": "x"}, "DCC_SECRET_KEY", "too short"),
    ({**SERVERS, "DCC_METRICS_TOKEN": ""}, "DCC_METRICS_TOKEN", "required"),
    ({"DCC_DATABASE_URL": "mysql://db/dcc"}, "DCC_DATABASE_URL", "mysql"),
    ({"DCC_DATABASE_URL": "not a url"}, "DCC_DATABASE_URL", "not a database URL"),
    ({**SERVERS, "DCC_REDIS_URL": "http://redis/0"}, "DCC_REDIS_URL", "redis://"),
    ({"DCC_PUBLIC_BASE_URL": "dcc.example.com"}, "DCC_PUBLIC_BASE_URL", "absolute"),
    ({"DCC_HOTLINE_NUMBER": "400-812-3123"}, "DCC_HOTLINE_NUMBER", "E.164"),
    ({"DCC_DEFAULT_REGION": "XX"}, "DCC_DEFAULT_REGION", "region"),
    ({"DCC_PORT": "eighty"}, "DCC_PORT", "whole number"),
    ({"DCC_PORT": "70000"}, "DCC_PORT", "not a port"),
    ({"DCC_LOG_FORMAT": "xml"}, "DCC_LOG_FORMAT", "json"),
    ({"DCC_TELEPHONY": "carrier-pigeon"}, "DCC_TELEPHONY", "twilio"),
    ({"DCC_TWILIO_API_KEY_SID": "SK" + "1" * 32}, "DCC_TWILIO_API_KEY_SECRET", "softphone"),
    ({"DCC_TWILIO_API_KEY_SECRET": "s"}, "DCC_TWILIO_API_KEY_SID", "softphone"),
    (
        {"DCC_TWILIO_API_KEY_SID": "SK" + "1" * 32, "DCC_TWILIO_API_KEY_SECRET": "s"},
        "DCC_TWILIO_TWIML_APP_SID",
        "softphone",
    ),
    ({**TWILIO, "DCC_PUBLIC_BASE_URL": "https://localhost"}, "DCC_PUBLIC_BASE_URL", "localhost"),
    ({**TWILIO, "DCC_PUBLIC_BASE_URL": "http://dcc.example.com"}, "DCC_PUBLIC_BASE_URL", "https"),
    ({**TWILIO, "DCC_PUBLIC_BASE_URL": "https://127.0.0.1:5000"}, "DCC_PUBLIC_BASE_URL", "127"),
    ({**TWILIO, "TWILIO_ACCOUNT_SID": "nope"}, "TWILIO_ACCOUNT_SID", "AC"),
    ({**TWILIO, "TWILIO_AUTH_TOKEN": ""}, "TWILIO_AUTH_TOKEN", "required"),
    ({**TWILIO, "DCC_HOTLINE_NUMBER": "4008123123"}, "DCC_HOTLINE_NUMBER", "E.164"),
    ({"DCC_CALLS_PER_SECOND": "0"}, "DCC_CALLS_PER_SECOND", "at least 1"),
    ({"DCC_SIM_GEO_ALLOWED": "86"}, "DCC_SIM_GEO_ALLOWED", "E.164 prefix"),
]


@pytest.mark.parametrize(("environ", "name", "words"), BAD_SETTINGS)
def test_each_bad_setting_stops_the_app_with_a_message_naming_it(
    tmp_path, environ, name, words
) -> None:
    settings = Settings.from_env({"DCC_INSTANCE_PATH": str(tmp_path), **environ})
    with pytest.raises(ConfigurationError) as info:
        settings.checked()
    named = [p for p in info.value.problems if p.startswith(f"{name}: ")]
    assert named, info.value.problems
    assert any(words in p for p in named), named
    assert len(info.value.problems) == len(set(info.value.problems))


def test_good_settings_pass_in_every_mode() -> None:
    for environ in ({}, SERVERS, TWILIO):
        assert Settings.from_env(environ).problems() == [], environ
    twilio_default_url = Settings.from_env({**TWILIO, "DCC_PUBLIC_BASE_URL": ""})
    assert any("DCC_PUBLIC_BASE_URL" in p for p in twilio_default_url.problems())


def test_a_redis_url_alone_is_not_the_embedded_mode(tmp_path) -> None:
    settings = Settings.from_env({"DCC_REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert not settings.embedded
    problems = settings.problems()
    assert any(p.startswith("DCC_DATABASE_URL:") for p in problems)
    assert any(p.startswith("DCC_SECRET_KEY:") for p in problems)


def _dcc(args: list[str], environ: dict[str, str], tmp_path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DCC_", "TWILIO_"))}
    env.update(environ, DCC_INSTANCE_PATH=str(tmp_path / "instance"))
    return subprocess.run(
        [sys.executable, "-m", "dcc", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_command_with_bad_settings_exits_2_naming_each_problem_without_a_traceback(
    tmp_path,
) -> None:
    done = _dcc(
        ["jobs", "sweep"],
        {"DCC_TIMEZONE": "Mars/Base", "DCC_CALLING_HOURS": "8-21"},
        tmp_path,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert any(line.strip().startswith("DCC_TIMEZONE: 'Mars/Base'") for line in lines)
    assert any(line.strip().startswith("DCC_CALLING_HOURS: '8-21'") for line in lines)
    assert "Traceback" not in done.stderr


def test_twilio_with_a_localhost_base_url_stops_start_up_naming_it(tmp_path) -> None:
    done = _dcc(
        ["db", "upgrade"], {**TWILIO, "DCC_PUBLIC_BASE_URL": "https://localhost:5000"}, tmp_path
    )
    assert done.returncode == 2
    assert "DCC_PUBLIC_BASE_URL: localhost is this machine" in done.stderr
    assert "Traceback" not in done.stderr


def test_config_check_prints_the_settings_masked_and_the_problems(tmp_path) -> None:
    environ = {
        **SERVERS,
        "DCC_DATABASE_URL": "postgresql://dcc:hunter2@db/dcc",
        "DCC_TIMEZONE": "Mars/Base",
    }
    done = _dcc(["config", "check"], environ, tmp_path)
    assert done.returncode == 2
    assert "postgresql://dcc:****@db/dcc" in done.stdout
    assert "DCC_SECRET_KEY" in done.stdout and SERVERS["DCC_SECRET_KEY"] not in done.stdout
    assert "hunter2" not in done.stdout + done.stderr
    assert "DCC_TIMEZONE: 'Mars/Base' is not a time zone" in done.stderr

    fine = _dcc(["config", "check"], SERVERS, tmp_path)
    assert fine.returncode == 0, fine.stderr
    assert "no problems found" in fine.stdout


def test_gunicorn_and_the_rq_worker_refuse_bad_settings_with_exit_2(tmp_path, redis_url) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DCC_", "TWILIO_"))}
    env.update(SERVERS, DCC_TIMEZONE="Mars/Base", DCC_INSTANCE_PATH=str(tmp_path))
    bin_dir = os.path.dirname(sys.executable)
    commands = {
        "gunicorn": [
            os.path.join(bin_dir, "gunicorn"),
            "-c",
            "python:dcc.gunicorn_conf",
            "--bind",
            "127.0.0.1:0",
            "dcc:create_app()",
        ],
        "rq worker": [
            sys.executable,
            "-m",
            "rq.cli",
            "worker",
            "--burst",
            "--url",
            redis_url,
            "--worker-class",
            "dcc.jobs.worker.Worker",
        ],
    }
    for program, argv in commands.items():
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, (program, done.stderr[-2000:])
        assert "DCC_TIMEZONE: 'Mars/Base' is not a time zone" in done.stderr, program
        assert "Traceback" not in done.stderr, program


def test_twilio_edge_region_and_rate_reach_the_adapter(tmp_path) -> None:
    settings = {
        "telephony": "twilio",
        "twilio_account_sid": "AC" + "1" * 32,
        "twilio_auth_token": "token",
        "twilio_edge": "singapore",
        "twilio_region": "sg1",
        "calls_per_second": 3,
        "public_base_url": "https://dcc.example.com",
    }
    app = create_app({"instance_path": str(tmp_path), "testing": True, **settings})
    adapter = get_telephony(app)
    assert (adapter.client.edge, adapter.client.region) == ("singapore", "sg1")
    assert adapter.check_dial("+8613800138000", "+14155550100") is not None  # Twilio's rules


def test_the_simulators_geo_permissions_are_a_setting_that_allows_everything_by_default(
    tmp_path,
) -> None:
    default = simulator_config(Settings.from_env({}), str(tmp_path))
    assert default is not None and default.geo_allowed == ()
    command = simulator_command(default, "http://127.0.0.1:5000")
    assert "--geo-allow" not in command  # the demo calls Chinese numbers
    assert "http://127.0.0.1:5000/webhooks/twilio/voice/fallback" in command
    narrowed = simulator_config(
        Settings.from_env({"DCC_SIM_GEO_ALLOWED": "+852, +853"}), str(tmp_path)
    )
    assert narrowed is not None
    assert simulator_command(narrowed, "http://x")[-2:] == ["--geo-allow", "+852,+853"]
