"""HTTP endpoints the outside world calls: Twilio voice callbacks and lead deliveries."""

from __future__ import annotations

from flask import Flask

from webhooks import leads, twilio_voice


def init_app(app: Flask) -> None:
    app.register_blueprint(twilio_voice.bp)
    app.register_blueprint(leads.bp)
