"""Configuration: one object built from ``DCC_*`` environment variables and overrides.

Defaults make the embedded mode work with nothing set: a SQLite file in the instance folder,
an embedded Redis server and the telephony simulator. Outside the embedded mode (a database
or Redis URL given, or Twilio chosen) missing secrets stop start-up with a clear message.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from flask import Flask, current_app

from dcc.errors import ConfigurationError


@dataclass(frozen=True)
class Settings:
    """Every setting the service reads. Field names are the env names without ``DCC_``."""

    database_url: str = ""  # empty: SQLite file in the instance folder
    redis_url: str = ""  # empty: embedded Redis server in the instance folder
    secret_key: str = ""
    # Earlier secret keys, comma-separated: sessions and forms signed with one stay valid
    # after DCC_SECRET_KEY is rotated (new ones are signed with the new key).
    secret_key_fallbacks: str = ""
    default_region: str = "CN"
    timezone: str = "Asia/Shanghai"
    port: int = 5000
    dealer_name: str = "DCC 演示 4S 店"
    telephony: str = "sim"  # sim | twilio
    hotline_number: str = "+864008123123"
    public_base_url: str = "http://127.0.0.1:5000"
    calling_hours: str = "08:00-21:00"
    opening_hours: str = "08:30-20:00"
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_api_key_sid: str = ""
    twilio_api_key_secret: str = ""
    twilio_twiml_app_sid: str = ""
    # Where the twilio REST client sends its requests; empty means api.twilio.com. The
    # simulator mode points it at the local simulator, which speaks the same API.
    twilio_api_base_url: str = ""
    metrics_token: str = ""  # when set, GET /metrics needs "Authorization: Bearer <token>"
    export_max_rows: int = 100_000  # Excel exports refuse (413) beyond this many rows
    streams_per_user: int = 10  # live streams one user may hold open at once (429 beyond)
    instance_path: str = ""
    testing: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def softphone(self) -> bool:
        """With an API key, agents are rung in the browser (``client:<identity>``)."""
        return bool(self.twilio_api_key_sid)

    @property
    def previous_secret_keys(self) -> list[str]:
        """``DCC_SECRET_KEY_FALLBACKS`` as a list, newest first as written."""
        return [key.strip() for key in self.secret_key_fallbacks.split(",") if key.strip()]

    @property
    def embedded(self) -> bool:
        """True when the service runs on its own embedded database and Redis."""
        return not self.database_url and not self.redis_url

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
    ) -> Settings:
        """Read ``DCC_*`` (and Twilio's usual ``TWILIO_*``) variables, then apply overrides."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in {"extra", "testing", "instance_path"}:
                continue
            names = [f"DCC_{f.name.upper()}"]
            if f.name.startswith("twilio_"):
                names.append(f.name.upper())
            for name in names:
                if name in environ and environ[name] != "":
                    raw = environ[name]
                    values[f.name] = int(raw) if f.type == "int" else raw
                    break
        settings = cls(**values)
        if overrides:
            known = {f.name for f in fields(cls)}
            extra = {k: v for k, v in overrides.items() if k not in known}
            settings = replace(
                settings,
                **{k: v for k, v in overrides.items() if k in known},
                extra={**settings.extra, **extra},
            )
        return settings

    def checked(self) -> Settings:
        """Fill embedded-mode secrets, or refuse to start when production secrets are missing."""
        missing: list[str] = []
        if not self.secret_key:
            if self.embedded or self.testing:
                return replace(self, secret_key=secrets.token_hex(32))._checked_telephony()
            missing.append("DCC_SECRET_KEY")
        if missing:
            raise ConfigurationError("config.missing", names=missing)
        return self._checked_telephony()

    def _checked_telephony(self) -> Settings:
        if self.telephony not in {"sim", "twilio"}:
            raise ConfigurationError("config.bad_telephony", field="DCC_TELEPHONY")
        if self.telephony == "twilio":
            needed = {
                "TWILIO_ACCOUNT_SID": self.twilio_account_sid,
                "TWILIO_AUTH_TOKEN": self.twilio_auth_token,
                "DCC_HOTLINE_NUMBER": self.hotline_number,
                "DCC_PUBLIC_BASE_URL": self.public_base_url,
            }
            absent = [name for name, value in needed.items() if not value]
            if absent:
                raise ConfigurationError("config.twilio_missing", names=absent)
        return self


def parse_hours(text: str) -> tuple[int, int]:
    """``"08:00-21:00"`` -> minutes since midnight of start and end."""
    try:
        start, end = text.split("-")
        h1, m1 = (int(x) for x in start.split(":"))
        h2, m2 = (int(x) for x in end.split(":"))
    except ValueError as exc:
        raise ConfigurationError("config.bad_hours", value=text) from exc
    return h1 * 60 + m1, h2 * 60 + m2


def get_settings(app: Flask | None = None) -> Settings:
    """The settings of ``app``, or of the current app (a request, a job, a CLI command)."""
    return (app or current_app).extensions["dcc.settings"]
