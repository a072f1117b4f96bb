"""The app's side of the telephony port: which adapter, and the public URLs it is given."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, current_app, has_request_context, request, url_for

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
#: What a customer rung first hears before waiting in the queue (see
#: :data:`dcc.calls.models.CUSTOMER_FIRST`); ``{dealer}`` is the dealer's name.
CUSTOMER_FIRST_GREETING = "您好，这里是{dealer}，感谢您的咨询。正在为您接通顾问，请稍候。"
#: Said to a queued caller who pressed 1 before they hang up.
CALLBACK_PROMISED = "好的，我们已为您保留位置，会尽快给您回电。再见。"
#: The number's fallback URL (the app failed to answer): an apology; a callback is owed.
FALLBACK_APOLOGY = "很抱歉，系统暂时无法接通您的来电。我们已记录您的号码，会尽快给您回电。再见。"


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
            edge=settings.twilio_edge or None,
            region=settings.twilio_region or None,
            # The simulator queues calls beyond its rate itself, in simulated time.
            calls_per_second=settings.calls_per_second if settings.telephony == "twilio" else None,
            pacer_path=_pacer_path(settings),
        )
        app.extensions["dcc.telephony"] = telephony
    return telephony


def _pacer_path(settings: Settings) -> str | None:
    """Twilio's calls per second are the account's: every process of the host shares one
    pacing file in the instance folder."""
    if settings.telephony != "twilio" or not settings.instance_path:
        return None
    return os.path.join(settings.instance_path, "call-pacing")


def public_url(endpoint: str, **values: Any) -> str:
    """The URL the provider must call: the configured public base, not the request's host.

    Behind a TLS-terminating proxy the request says ``http://``; Twilio signed ``https://``.
    """
    settings: Settings = current_app.extensions["dcc.settings"]
    if has_request_context():
        path = url_for(endpoint, **values)
        prefix = request.script_root
        path = path[len(prefix) :] if prefix and path.startswith(prefix) else path
        return mounted_base(settings.public_base_url, prefix) + path
    # A job: no request to take a host or mount prefix from; the base URL names both.
    path = current_app.url_map.bind("dcc.invalid").build(endpoint, values)
    return settings.public_base_url.rstrip("/") + path


def mounted_base(public_base_url: str, script_root: str) -> str:
    """The public base URL with the app's mount prefix (``SCRIPT_NAME``), once: the base may
    name the prefix itself (``https://example.com/dcc``) or leave it to the mount."""
    base = public_base_url.rstrip("/")
    prefix = script_root.rstrip("/")
    if prefix and not base.endswith(prefix):
        base += prefix
    return base
