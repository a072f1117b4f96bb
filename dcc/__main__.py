"""``python -m dcc`` and the ``dcc`` console script: the app's click commands.

The factory registers the commands (:func:`dcc.cli.init_app`); this entry point only builds
the app for them, so the command modules never need to know the factory.
"""

from __future__ import annotations

from flask.cli import FlaskGroup

from dcc.app import create_app


def main() -> None:
    """Entry point of the ``dcc`` console script."""
    cli = FlaskGroup(create_app=lambda: create_app(), help="DCC: leads and calls for dealers.")
    cli.main(prog_name="dcc")


if __name__ == "__main__":  # python -m dcc …
    main()
