"""``python -m dcc`` and the ``dcc`` console script: the app's click commands.

The factory registers the commands (:func:`dcc.cli.init_app`); this entry point only builds
the app for them, so the command modules never need to know the factory. Bad settings stop
every command with one line per problem and exit code 2; ``dcc config check`` is the one
command that runs without the app, to show them.
"""

from __future__ import annotations

from flask import Flask
from flask.cli import FlaskGroup

from dcc import sim_cli
from dcc.app import create_app
from dcc.cli import config_group, sim_group
from dcc.config import refuse_to_start
from dcc.errors import ConfigurationError


def build() -> Flask:
    """The app for a command, or a clean refusal (exit 2) naming every bad setting."""
    try:
        return create_app()
    except ConfigurationError as error:
        refuse_to_start(error)


def main() -> None:
    """Entry point of the ``dcc`` console script."""
    cli = FlaskGroup(create_app=build, help="DCC: leads and calls for dealers.")
    cli.add_command(config_group)
    # The simulation builds apps of its own: its commands join ``dcc sim`` here, above the
    # factory, and run without the service's app.
    sim_cli.add_to(sim_group)
    cli.add_command(sim_group)
    cli.main(prog_name="dcc")


if __name__ == "__main__":  # python -m dcc …
    main()
