"""The app's side of the telephony port: which adapter, and the public URLs it is given."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, has_request_context, url_for

from dcc.config import Settings
from telephony import Telephony, make_telephony

#: What callers hear (Mandarin text-to-speech); a dealer's name is filled in.
NOTICE = "您好，欢迎致电{dealer}。为保证服务质量，您的通话可能会被录音。"
WAIT = "坐席正忙，请您稍候，我们将尽快为您接通。"
AFTER_HOURS = "您好，现在是非营业时间。我们已记录您的来电，将在营业时间第一时间给您回电。再见。"
NOBODY_ANSWERED = "很抱歉，坐席暂时无法接听，我们会尽快给您回电。再见。"
#: Said to the agent when the lead closed, or the customer opted out, while their phone rang.
CALL_CANCELED = "这条线索已关闭或客户拒绝来电，本次呼叫已取消。"
HOTLINE_QUEUE = "hotline"


def init_app(app: Flask) -> None:
    app.extensions["dcc.telephony"] = None  # built on first use: no provider I/O at start-up


def get_telephony(app: Flask | None = None) -> Telephony:
    app = app or current_app
    telephony: Telephony | None = app.extensions.get("dcc.telephony")
    if telephony is None:
        settings: Settings = app.extensions["dcc.settings"]
        telephony = make_telephony(
            settings.telephony,
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            api_base_url=settings.twilio_api_base_url or None,
        )
        app.extensions["dcc.telephony"] = telephony
    return telephony


def public_url(endpoint: str, **values: Any) -> str:
    """The URL the provider must call: the configured public base, not the request's host.

    Behind a TLS-terminating proxy the request says ``http://``; Twilio signed ``https://``.
    """
    settings: Settings = current_app.extensions["dcc.settings"]
    if has_request_context():
        path = url_for(endpoint, **values)
    else:  # a job: no request to take a host from, and none is needed
        path = current_app.url_map.bind("dcc.invalid").build(endpoint, values)
    return settings.public_base_url.rstrip("/") + path
