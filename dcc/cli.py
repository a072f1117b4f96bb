"""The ``dcc`` command: click commands registered by the factory, on the service's database."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import click
import requests
from flask import Flask, current_app
from flask.cli import with_appcontext

from dcc import demo, logs, migrate, phones, serve
from dcc.calls import policy as call_policy
from dcc.cli_accounts import tokens_group, users_group
from dcc.cli_support import echo_table
from dcc.cli_support import fail as _fail
from dcc.config import Settings, get_settings
from dcc.db import get_database
from dcc.errors import DCCError
from dcc.jobs import sweeper
from dcc.leads import sources
from dcc.loop import audit
from dcc.sim import history
from dcc.staffing_cli import rota_group


@click.group("config", help="The service's settings.")
def config_group() -> None:
    pass


@config_group.command(
    "check", help="Print the effective settings (secrets masked) and every problem; exit 2 if any."
)
def config_check() -> None:
    settings = Settings.from_env()
    described = list(settings.described())
    width = max(len(name) for name, _ in described)
    for name, value in described:
        click.echo(f"{name:<{width}}  {value}")
    mode = "embedded (SQLite and Redis in the instance folder)" if settings.embedded else "servers"
    click.echo(f"mode: {mode}; telephony: {settings.telephony}")
    problems = settings.problems()
    if not problems:
        click.echo("no problems found")
        return
    click.echo(f"{len(problems)} problem(s):", err=True)
    for problem in problems:
        click.echo(f"  {problem}", err=True)
    sys.exit(2)


def init_app(app: Flask) -> None:
    for group in (
        db_group,
        users_group,
        tokens_group,
        sources_group,
        demo_group,
        sim_group,
        jobs_group,
        rota_group,
        calls_group,
    ):
        app.cli.add_command(group)
    app.cli.add_command(serve_command)
    app.cli.add_command(audit_command)


@click.group("db", help="Database schema.")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="Bring the schema to the newest version.")
@click.option("--revision", default="heads", show_default=True)
def db_upgrade(revision: str) -> None:
    database = get_database()
    migrate.upgrade(database.url, revision)
    click.echo(f"database at {revision}")


@db_group.command("downgrade", help="Take the schema back to REVISION (e.g. base).")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    migrate.downgrade(get_database().url, revision)
    click.echo(f"database at {revision}")


@click.group("sources", help="Lead sources (portals, web forms, events).")
def sources_group() -> None:
    pass


@sources_group.command("create", help="Add a lead source; its secret is printed as the last line.")
@click.argument("slug")
@click.option("--name", default=None)
@click.option("--channel", default="portal", show_default=True)
@click.option("--sub-source", default=None)
@click.option("--secret", default=None, help="Omit to generate one.")
@click.option(
    "--auth",
    "auth_mode",
    type=click.Choice(["hmac", "hmac_ts", "token"]),
    default="hmac",
    help="hmac: signed body; hmac_ts: signed with a timestamp (replays refused); token.",
)
@click.option("--auto-dial/--no-auto-dial", default=False)
def sources_create(
    slug: str,
    name: str | None,
    channel: str,
    sub_source: str | None,
    secret: str | None,
    auth_mode: str,
    auto_dial: bool,
) -> None:
    try:
        with get_database().session_scope() as session:
            source = sources.create(
                session,
                slug=slug,
                name=name or slug,
                channel=channel,
                sub_source=sub_source,
                secret=secret,
                auth_mode=auth_mode,
                auto_dial=auto_dial,
            )
            secret_out = source.secret
    except DCCError as error:
        _fail(error)
    click.echo(f"source {slug} ({channel}, {auth_mode}); secret:")
    click.echo(secret_out)


@sources_group.command("list", help="Show every lead source (secrets are not shown).")
def sources_list() -> None:
    with get_database().session_scope() as session:
        rows = [
            (
                s.slug,
                s.name,
                s.channel.value,
                s.sub_source or "-",
                s.auth_mode,
                "auto-dial" if s.auto_dial else "-",
                "enabled" if s.enabled else "DISABLED",
            )
            for s in sources.list_all(session)
        ]
    if not rows:
        click.echo("no lead sources; add one with: dcc sources create SLUG")
        return
    echo_table(("slug", "name", "channel", "sub-source", "auth", "dial", "state"), rows)


@sources_group.command("rotate", help="Give SLUG a new secret, printed as the last line.")
@click.argument("slug")
def sources_rotate(slug: str) -> None:
    try:
        with get_database().session_scope() as session:
            secret_out = sources.rotate_secret(sources.get_by_slug(session, slug))
    except DCCError as error:
        _fail(error)
    click.echo(f"source {slug}: new secret (the old one no longer works):")
    click.echo(secret_out)


@sources_group.command("enable", help="Accept SLUG's deliveries again.")
@click.argument("slug")
def sources_enable(slug: str) -> None:
    _set_enabled(slug, True)


@sources_group.command("disable", help="Refuse SLUG's deliveries (404) until enabled.")
@click.argument("slug")
def sources_disable(slug: str) -> None:
    _set_enabled(slug, False)


def _set_enabled(slug: str, enabled: bool) -> None:
    try:
        with get_database().session_scope() as session:
            sources.set_enabled(sources.get_by_slug(session, slug), enabled)
    except DCCError as error:
        _fail(error)
    click.echo(f"source {slug} {'enabled' if enabled else 'disabled'}")


@sources_group.command("set", help="Change SLUG's settings; only the options given change.")
@click.argument("slug")
@click.option("--name", default=None)
@click.option("--channel", default=None)
@click.option("--sub-source", default=None, help='"" clears it.')
@click.option("--auth", "auth_mode", type=click.Choice(["hmac", "hmac_ts", "token"]), default=None)
@click.option("--auto-dial/--no-auto-dial", default=None)
def sources_set(
    slug: str,
    name: str | None,
    channel: str | None,
    sub_source: str | None,
    auth_mode: str | None,
    auto_dial: bool | None,
) -> None:
    try:
        with get_database().session_scope() as session:
            source = sources.update(
                sources.get_by_slug(session, slug),
                name=name,
                channel=channel,
                sub_source=sub_source,
                auth_mode=auth_mode,
                auto_dial=auto_dial,
            )
            summary = (
                f"source {slug}: {source.name}, {source.channel.value}, "
                f"sub-source {source.sub_source or '-'}, {source.auth_mode}, "
                f"auto-dial {'on' if source.auto_dial else 'off'}"
            )
    except DCCError as error:
        _fail(error)
    click.echo(summary)


@click.group("demo", help="Demo data.")
def demo_group() -> None:
    pass


@demo_group.command(
    "seed",
    help="Add demo users, sources, the default script and leads, and a simulated recent "
    "history of calls, leads and visits (once).",
)
@click.option(
    "--history-days",
    type=click.IntRange(0, 60),
    default=7,
    show_default=True,
    help="Days of simulated history before today (0: none).",
)
def demo_seed(history_days: int) -> None:
    with get_database().session_scope() as session:
        created = demo.seed(session)
    click.echo("demo data added" if created else "demo data already present")
    settings = get_settings()
    # The simulated past drives the telephony simulator in-process; the suite's apps skip it.
    if created and history_days and settings.telephony == "sim" and not settings.testing:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        result = history.seed_history(app, history_days, password=demo.PASSWORD)
        activity = result.figures["activity"]
        click.echo(
            f"simulated history: {history_days} day(s), {result.figures['kpis']['leads']} "
            f"leads, {activity.get('hotline_call', 0)} hotline calls, "
            f"{activity.get('walk_in', 0)} walk-ins"
        )
    for login, role, password in demo.LOGINS:
        click.echo(f"  {role:<11} {login:<10} {password}")


@click.command("serve", help="Run the web app, an RQ worker with the scheduler, and the simulator.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: DCC_PORT or 5000.")
def serve_command(host: str, port: int | None) -> None:
    serve.run(host=host, port=port)


@click.group(
    "sim", help="The telephony simulator of the embedded mode, and the dealership simulation."
)
def sim_group() -> None:
    pass


@sim_group.command("call", help="Make the simulator ring the hotline from a customer's number.")
@click.option("--from", "from_", required=True, help="The caller, in any format.")
@click.option("--to", default=None, help="The hotline dialled (default DCC_HOTLINE_NUMBER).")
@click.option("--hangup-after", type=float, default=None, help="Caller hangs up after N s.")
@with_appcontext
def sim_call(from_: str, to: str | None, hangup_after: float | None) -> None:

    settings = get_settings()
    try:
        from_ = phones.normalize(from_, settings.default_region, field="--from")
    except DCCError as error:
        _fail(error)
    if settings.telephony != "sim":
        _fail(DCCError("cli.not_simulator", field="DCC_TELEPHONY"))
    base = settings.twilio_api_base_url.rstrip("/")
    try:
        if hangup_after is not None:
            behaviour = {"hangup_after": hangup_after}
            requests.post(
                f"{base}/sim/behaviour", json={"number": from_, "behaviour": behaviour}, timeout=5
            ).raise_for_status()
        answer = requests.post(
            f"{base}/sim/inbound",
            json={"from": from_, "to": to or settings.hotline_number},
            timeout=10,
        )
        answer.raise_for_status()
    except requests.RequestException as error:
        _fail(DCCError("cli.simulator_unreachable", field="simulator", url=base, detail=error))
    click.echo(f"calling the hotline from {from_}: {answer.json().get('sid', answer.text)}")


@click.group("calls", help="Call flows.")
def calls_group() -> None:
    pass


@calls_group.command(
    "settings", help="Show the dealer's call-flow settings; change some with KEY=VALUE."
)
@click.argument("changes", nargs=-1)
def calls_settings(changes: tuple[str, ...]) -> None:
    wanted = dict(change.partition("=")[::2] for change in changes)
    try:
        with get_database().session_scope() as session:
            current = call_policy.update(session, wanted) if wanted else call_policy.load(session)
    except DCCError as error:
        _fail(error)
    for key, value in asdict(current).items():
        click.echo(f"{key} = {value}")


@click.group("jobs", help="Background work.")
def jobs_group() -> None:
    pass


@jobs_group.command(
    "sweep", help="Enqueue due outbox work: the scheduler (once, or --every N s, forever)."
)
@click.option("--every", type=float, default=None, help="Keep sweeping every N seconds.")
def jobs_sweep(every: float | None) -> None:

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if every is None:
        click.echo(f"{sweeper.sweep_once(app)} job(s) enqueued")
        return
    logs.configure(get_settings(app).log_format)
    sweeper.run_forever(app, every)


@click.command("audit", help="List every broken link of the closed loop; exit 1 if any.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of {kind, ids…}.")
def audit_command(as_json: bool) -> None:
    with get_database().session_scope() as session:
        violations = audit.find_violations(session)
    if as_json:
        click.echo(json.dumps(violations, ensure_ascii=False))
    else:
        for kind, n in audit.counts(violations).items():
            click.echo(f"{kind}: {n}")
            for violation in (v for v in violations if v["kind"] == kind):
                ids = ", ".join(f"{k} {v}" for k, v in violation.items() if k != "kind")
                click.echo(f"  {ids}")
        click.echo(f"{len(violations)} violation(s)" if violations else "the loop is closed")
    sys.exit(1 if violations else 0)
