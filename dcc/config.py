"""Configuration: one object built from ``DCC_*`` environment variables and overrides.

Defaults make the embedded mode work with nothing set: a SQLite file in the instance folder,
an embedded Redis server and the telephony simulator. Every setting is checked at start-up
(:meth:`Settings.problems`): a bad one stops the service with one line per problem, each naming
its variable, instead of failing later in a job. Outside the embedded mode (a database or Redis
URL given) the secrets are required.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, NoReturn
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from flask import Flask, current_app
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from dcc.errors import ConfigurationError

#: Settings whose values are never printed (``dcc config check`` masks them).
SECRET_FIELDS = frozenset(
    {"secret_key", "twilio_auth_token", "twilio_api_key_secret", "metrics_token"}
)
#: Fields that are not read from the environment.
_NOT_FROM_ENV = frozenset({"extra", "testing", "instance_path", "unreadable"})
MIN_SECRET_KEY_LENGTH = 16


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
    # Twilio's data-centre edge and region (e.g. "singapore", "au1"); passed to the client.
    twilio_edge: str = ""
    twilio_region: str = ""
    # Outbound calls the account accepts per second (Twilio's default is 1): calls are paced.
    calls_per_second: int = 1
    # Where the simulator lets calls go: comma-separated E.164 prefixes (e.g. "+86,+852");
    # empty lets every destination through, as a domestic carrier does.
    sim_geo_allowed: str = ""
    metrics_token: str = ""  # when set, GET /metrics needs "Authorization: Bearer <token>"
    export_max_rows: int = 100_000  # Excel exports refuse (413) beyond this many rows
    streams_per_user: int = 10  # live streams one user may hold open at once (429 beyond)
    log_format: str = "text"  # text | json
    # Scheduled work this late and not done makes /healthz answer 503 "degraded".
    overdue_after_seconds: int = 120
    instance_path: str = ""
    testing: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)
    # (variable, problem) for values that could not even be read (a port that is not a number).
    unreadable: tuple[tuple[str, str], ...] = ()

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
        """True when the service runs on its own embedded database and Redis.

        A Redis URL alone is not the embedded mode: it means several processes or machines,
        and those cannot share a SQLite file in one instance folder.
        """
        return not self.database_url and not self.redis_url

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
    ) -> Settings:
        """Read ``DCC_*`` (and Twilio's usual ``TWILIO_*``) variables, then apply overrides."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        unreadable: list[tuple[str, str]] = []
        for f in fields(cls):
            if f.name in _NOT_FROM_ENV:
                continue
            for name in env_names(f.name):
                if name in environ and environ[name] != "":
                    raw = environ[name]
                    if f.type == "int":
                        try:
                            values[f.name] = int(raw.strip())
                        except ValueError:
                            unreadable.append((name, f"{raw!r} is not a whole number"))
                    else:
                        values[f.name] = raw
                    break
        settings = cls(**values, unreadable=tuple(unreadable))
        if overrides:
            known = {f.name for f in fields(cls)}
            extra = {k: v for k, v in overrides.items() if k not in known}
            settings = replace(
                settings,
                **{k: v for k, v in overrides.items() if k in known},
                extra={**settings.extra, **extra},
            )
        return settings

    def problems(self) -> list[str]:
        """Every problem with these settings, one line each, naming the variable."""
        found = [f"{name}: {message}" for name, message in self.unreadable]
        for check in _CHECKS:
            found += [f"{name}: {message}" for name, message in check(self)]
        return found

    def checked(self) -> Settings:
        """Fill the embedded mode's secret, or refuse to start on any problem."""
        settings = self
        if not settings.secret_key and (settings.embedded or settings.testing):
            settings = replace(settings, secret_key=secrets.token_hex(32))
        problems = settings.problems()
        if problems:
            raise ConfigurationError(
                "config.cannot_start", problems=problems, problems_text="\n  ".join(problems)
            )
        return settings

    def described(self) -> Iterator[tuple[str, str]]:
        """(variable, value) for every setting, secrets and passwords in URLs masked."""
        for f in fields(self):
            if f.name in _NOT_FROM_ENV:
                continue
            value = getattr(self, f.name)
            shown = str(value)
            if f.name in SECRET_FIELDS:
                shown = f"set ({len(value)} characters)" if value else "not set"
            elif f.name.endswith("_url") and value:
                shown = _mask_password(value)
            yield env_names(f.name)[0], shown


def env_names(field_name: str) -> list[str]:
    """The environment variables of a setting: ``DCC_<NAME>``, and Twilio's own names."""
    names = [f"DCC_{field_name.upper()}"]
    if field_name.startswith("twilio_"):
        names.append(field_name.upper())
    return names


# --- the checks: each yields (variable, problem) --------------------------------------------

Found = Iterator[tuple[str, str]]
_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def _check_mode(s: Settings) -> Found:
    if s.redis_url and not s.database_url:
        yield (
            "DCC_DATABASE_URL",
            "required when DCC_REDIS_URL is set: the embedded SQLite file serves one machine "
            "only (leave both unset for the embedded mode)",
        )
    if s.embedded or s.testing:
        return
    if not s.secret_key:
        yield "DCC_SECRET_KEY", "required outside the embedded mode (signs the login sessions)"
    elif len(s.secret_key) < MIN_SECRET_KEY_LENGTH:
        yield "DCC_SECRET_KEY", f"too short: use at least {MIN_SECRET_KEY_LENGTH} random characters"
    for key in s.previous_secret_keys:
        if len(key) < MIN_SECRET_KEY_LENGTH:
            yield (
                "DCC_SECRET_KEY_FALLBACKS",
                f"a key is too short: use at least {MIN_SECRET_KEY_LENGTH} random characters",
            )
    if not s.metrics_token:
        yield "DCC_METRICS_TOKEN", "required outside the embedded mode (/metrics needs a token)"


def _check_urls(s: Settings) -> Found:
    if s.database_url:
        try:
            backend = make_url(s.database_url).get_backend_name()
        except ArgumentError:
            yield "DCC_DATABASE_URL", "not a database URL (e.g. postgresql://user@host/dcc)"
        else:
            if backend not in {"postgresql", "sqlite", "postgres"}:
                yield "DCC_DATABASE_URL", f"{backend!r} is not supported: use PostgreSQL"
    if s.redis_url:
        parts = urlsplit(s.redis_url)
        if parts.scheme not in {"redis", "rediss", "unix"}:
            yield "DCC_REDIS_URL", "must start with redis://, rediss:// or unix://"
        elif parts.scheme != "unix" and not parts.hostname:
            yield "DCC_REDIS_URL", "names no host (e.g. redis://127.0.0.1:6379/0)"
    parts = urlsplit(s.public_base_url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        yield "DCC_PUBLIC_BASE_URL", "must be an absolute http(s) URL, e.g. https://dcc.example.com"
    elif parts.query or parts.fragment:
        yield "DCC_PUBLIC_BASE_URL", "must not carry a query or a fragment"


def _check_time(s: Settings) -> Found:
    try:
        ZoneInfo(s.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        yield "DCC_TIMEZONE", f"{s.timezone!r} is not a time zone (e.g. Asia/Shanghai)"
    for name, text in (
        ("DCC_CALLING_HOURS", s.calling_hours),
        ("DCC_OPENING_HOURS", s.opening_hours),
    ):
        try:
            parse_hours(text)
        except ConfigurationError as error:
            yield name, error.message


def _check_numbers(s: Settings) -> Found:
    if s.default_region not in phonenumbers.SUPPORTED_REGIONS:
        yield "DCC_DEFAULT_REGION", f"{s.default_region!r} is not a region code (e.g. CN)"
    if not _is_e164(s.hotline_number):
        yield "DCC_HOTLINE_NUMBER", f"{s.hotline_number!r} is not an E.164 number (+864008123123)"
    if not 1 <= s.port <= 65535:
        yield "DCC_PORT", f"{s.port} is not a port (1-65535)"
    if s.export_max_rows < 1:
        yield "DCC_EXPORT_MAX_ROWS", "must be at least 1"
    if s.overdue_after_seconds < 1:
        yield "DCC_OVERDUE_AFTER_SECONDS", "must be at least 1"
    if s.streams_per_user < 1:
        yield "DCC_STREAMS_PER_USER", "must be at least 1"
    for prefix in filter(None, (p.strip() for p in s.sim_geo_allowed.split(","))):
        if not re.fullmatch(r"\+\d{1,6}", prefix):
            yield "DCC_SIM_GEO_ALLOWED", f"{prefix!r} is not an E.164 prefix (e.g. +86)"
    if s.calls_per_second < 1:
        yield "DCC_CALLS_PER_SECOND", "must be at least 1 (Twilio's default account rate)"
    if s.log_format not in {"text", "json"}:
        yield "DCC_LOG_FORMAT", f"{s.log_format!r}: use 'text' or 'json'"


def _check_telephony(s: Settings) -> Found:
    if s.telephony not in {"sim", "twilio"}:
        yield "DCC_TELEPHONY", f"{s.telephony!r}: use 'sim' (the simulator) or 'twilio'"
        return
    softphone = {
        "DCC_TWILIO_API_KEY_SID": s.twilio_api_key_sid,
        "DCC_TWILIO_API_KEY_SECRET": s.twilio_api_key_secret,
        "DCC_TWILIO_TWIML_APP_SID": s.twilio_twiml_app_sid,
    }
    if any(softphone.values()):
        for name, value in softphone.items():
            if not value:
                yield name, "the browser softphone needs the API key SID, its secret and the app"
        if s.twilio_api_key_sid and not s.twilio_api_key_sid.startswith("SK"):
            yield "DCC_TWILIO_API_KEY_SID", "an API key SID starts with SK"
        if s.twilio_twiml_app_sid and not s.twilio_twiml_app_sid.startswith("AP"):
            yield "DCC_TWILIO_TWIML_APP_SID", "a TwiML app SID starts with AP"
    if s.telephony != "twilio":
        return
    if not re.fullmatch(r"AC[0-9a-fA-F]{32}", s.twilio_account_sid):
        yield "TWILIO_ACCOUNT_SID", "required with DCC_TELEPHONY=twilio: AC and 32 hex digits"
    if not s.twilio_auth_token:
        yield "TWILIO_AUTH_TOKEN", "required with DCC_TELEPHONY=twilio"
    parts = urlsplit(s.public_base_url)
    if parts.scheme != "https":
        yield "DCC_PUBLIC_BASE_URL", "must be https:// with DCC_TELEPHONY=twilio (Twilio calls it)"
    if parts.hostname and _is_local(parts.hostname):
        yield (
            "DCC_PUBLIC_BASE_URL",
            f"{parts.hostname} is this machine: Twilio cannot reach it; give the public URL",
        )


_CHECKS: tuple[Callable[[Settings], Found], ...] = (
    _check_mode,
    _check_urls,
    _check_time,
    _check_numbers,
    _check_telephony,
)


def _is_e164(number: str) -> bool:
    if not re.fullmatch(r"\+[1-9]\d{6,14}", number):
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return False


def _is_local(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES or host.lower().endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified or address.is_link_local


def _mask_password(url: str) -> str:
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":****@", 1)
    return parts._replace(netloc=netloc).geturl()


def parse_hours(text: str) -> tuple[int, int]:
    """``"08:00-21:00"`` -> minutes since midnight of start and end (end up to 24:00)."""
    match = _HOURS.match(text.strip())
    if match is None:
        raise ConfigurationError("config.bad_hours", value=repr(text))
    h1, m1, h2, m2 = (int(x) for x in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if m1 > 59 or m2 > 59 or start >= 24 * 60 or end > 24 * 60:
        raise ConfigurationError("config.hours_not_time_of_day", value=repr(text))
    if start >= end:
        raise ConfigurationError("config.hours_reversed", value=repr(text))
    return start, end


def refuse_to_start(error: ConfigurationError, program: str = "dcc") -> NoReturn:
    """What every entry point does with bad settings: one line per problem, exit code 2."""
    print(f"{program}: the service cannot start with these settings:", file=sys.stderr)
    for problem in error.problems:
        print(f"  {problem}", file=sys.stderr)
    sys.stderr.flush()
    sys.exit(2)


def get_settings(app: Flask | None = None) -> Settings:
    """The settings of ``app``, or of the current app (a request, a job, a CLI command)."""
    return (app or current_app).extensions["dcc.settings"]
