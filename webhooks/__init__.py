"""HTTP endpoints the outside world calls: Twilio voice callbacks and lead deliveries."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from webhooks import twilio_voice

    app.register_blueprint(twilio_voice.bp)
