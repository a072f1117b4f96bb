"""The ``dcc`` command: click commands registered by the factory, on the service's database."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup

from dcc import logs, migrate
from dcc.config import Settings, get_settings, refuse_to_start
from dcc.db import get_database
from dcc.errors import ConfigurationError, DCCError


def main() -> None:
    """Entry point of the ``dcc`` console script.

    Bad settings stop every command with one line per problem and exit code 2; ``dcc config
    check`` is the one command that runs without the app, to show them.
    """
    from dcc.app import create_app

    def build() -> Flask:
        try:
            return create_app()
        except ConfigurationError as error:
            refuse_to_start(error)

    cli = FlaskGroup(create_app=build, help="DCC: leads and calls for dealers.")
    cli.add_command(config_group)
    cli.main(prog_name="dcc")


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
    ):
        app.cli.add_command(group)
    app.cli.add_command(serve_command)


def _fail(error: DCCError) -> None:
    where = f" ({error.field})" if error.field else ""
    click.echo(f"error{where}: {error.message}", err=True)
    sys.exit(2)


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


@click.group("users", help="Staff accounts.")
def users_group() -> None:
    pass


@users_group.command("create", help="Add a user with a role.")
@click.argument("login")
@click.option(
    "--role", required=True, help="clerk, consultant, dcc_agent, manager, supervisor, admin"
)
@click.option("--name", default=None)
@click.option("--password", default=None, help="Omit to create an account without web login.")
@click.option("--phone", default=None, help="The phone the hotline rings for this agent.")
@click.option("--team", default=None, help="Team name; created on first use.")
def users_create(
    login: str,
    role: str,
    name: str | None,
    password: str | None,
    phone: str | None,
    team: str | None,
) -> None:
    from dcc.config import get_settings
    from dcc.users import service

    try:
        with get_database().session_scope() as session:
            user = service.create_user(
                session,
                login=login,
                role=role,
                name=name,
                password=password,
                phone=phone,
                team=team,
                region=get_settings().default_region,
            )
            click.echo(f"user {user.login} ({user.role.value}) id {user.id}")
    except DCCError as error:
        _fail(error)


@click.group("tokens", help="API bearer tokens.")
def tokens_group() -> None:
    pass


@tokens_group.command("create", help="Issue an API token for LOGIN; printed as the last line.")
@click.argument("login")
@click.option("--name", default="cli")
def tokens_create(login: str, name: str) -> None:
    from dcc.users import service

    try:
        with get_database().session_scope() as session:
            token = service.create_token(session, service.get_by_login(session, login), name)
    except DCCError as error:
        _fail(error)
    click.echo(f"token for {login} (shown once):")
    click.echo(token)


@click.group("sources", help="Lead sources (portals, web forms, events).")
def sources_group() -> None:
    pass


@sources_group.command("create", help="Add a lead source; its secret is printed as the last line.")
@click.argument("slug")
@click.option("--name", default=None)
@click.option("--channel", default="portal", show_default=True)
@click.option("--sub-source", default=None)
@click.option("--secret", default=None, help="Omit to generate one.")
@click.option("--auth", "auth_mode", type=click.Choice(["hmac", "token"]), default="hmac")
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
    from dcc.leads import sources

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
    from dcc.leads import sources

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
    header = ("slug", "name", "channel", "sub-source", "auth", "dial", "state")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


@sources_group.command("rotate", help="Give SLUG a new secret, printed as the last line.")
@click.argument("slug")
def sources_rotate(slug: str) -> None:
    from dcc.leads import sources

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
    from dcc.leads import sources

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
@click.option("--auth", "auth_mode", type=click.Choice(["hmac", "token"]), default=None)
@click.option("--auto-dial/--no-auto-dial", default=None)
def sources_set(
    slug: str,
    name: str | None,
    channel: str | None,
    sub_source: str | None,
    auth_mode: str | None,
    auto_dial: bool | None,
) -> None:
    from dcc.leads import sources

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


@demo_group.command("seed", help="Add demo users, sources, the default script and leads (once).")
def demo_seed() -> None:
    from dcc import demo

    with get_database().session_scope() as session:
        created = demo.seed(session)
    click.echo("demo data added" if created else "demo data already present")
    for login, role, password in demo.LOGINS:
        click.echo(f"  {role:<11} {login:<10} {password}")


@click.command("serve", help="Run the web app, an RQ worker with the scheduler, and the simulator.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: DCC_PORT or 5000.")
def serve_command(host: str, port: int | None) -> None:
    from dcc import serve

    serve.run(host=host, port=port)


@click.group("sim", help="The telephony simulator of the embedded mode.")
def sim_group() -> None:
    pass


@sim_group.command("call", help="Make the simulator ring the hotline from a customer's number.")
@click.option("--from", "from_", required=True, help="The caller, in any format.")
@click.option("--to", default=None, help="The hotline dialled (default DCC_HOTLINE_NUMBER).")
@click.option("--hangup-after", type=float, default=None, help="Caller hangs up after N s.")
def sim_call(from_: str, to: str | None, hangup_after: float | None) -> None:
    import requests

    from dcc import phones
    from dcc.config import get_settings

    settings = get_settings()
    try:
        from_ = phones.normalize(from_, settings.default_region, field="--from")
    except DCCError as error:
        _fail(error)
    if settings.telephony != "sim":
        _fail(DCCError("DCC_TELEPHONY is not 'sim'", field="DCC_TELEPHONY"))
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
        _fail(DCCError(f"the simulator at {base} did not answer: {error}", field="simulator"))
    click.echo(f"calling the hotline from {from_}: {answer.json().get('sid', answer.text)}")


@click.group("jobs", help="Background work.")
def jobs_group() -> None:
    pass


@jobs_group.command(
    "sweep", help="Enqueue due outbox work: the scheduler (once, or --every N s, forever)."
)
@click.option("--every", type=float, default=None, help="Keep sweeping every N seconds.")
def jobs_sweep(every: float | None) -> None:
    from flask import current_app

    from dcc.jobs import sweeper

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if every is None:
        click.echo(f"{sweeper.sweep_once(app)} job(s) enqueued")
        return
    logs.configure(get_settings(app).log_format)
    sweeper.run_forever(app, every)


if __name__ == "__main__":  # python -m dcc.cli …
    main()
