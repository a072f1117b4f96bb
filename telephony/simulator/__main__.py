"""Run the simulator as a process: ``python -m telephony.simulator --port 8089 …``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from telephony.simulator.server import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, Simulator


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options; credentials default to TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN."""
    parser = argparse.ArgumentParser(
        prog="python -m telephony.simulator",
        description="A local Twilio stand-in: REST API in, signed webhooks out.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument(
        "--account-sid", default=os.environ.get("TWILIO_ACCOUNT_SID") or DEFAULT_ACCOUNT_SID
    )
    parser.add_argument(
        "--auth-token", default=os.environ.get("TWILIO_AUTH_TOKEN") or DEFAULT_AUTH_TOKEN
    )
    parser.add_argument("--voice-url", help="the hotline's incoming-call webhook")
    parser.add_argument(
        "--voice-fallback-url", help="requested when the voice URL fails (no retries on 5xx)"
    )
    parser.add_argument(
        "--hotline", help="the account's hotline number (E.164); turns caller-ID checks on"
    )
    parser.add_argument(
        "--owned-number", action="append", default=[], help="another number of the account"
    )
    parser.add_argument(
        "--verified-caller-id", action="append", default=[], help="a verified caller ID"
    )
    parser.add_argument(
        "--client",
        action="append",
        help="a registered client identity (repeat); without any, every identity answers",
    )
    parser.add_argument("--geo-allow", help="comma-separated E.164 prefixes (default: all)")
    parser.add_argument("--geo-block", default="", help="comma-separated E.164 prefixes")
    parser.add_argument(
        "--calls-per-second", type=float, default=1.0, help="pace of REST-created calls"
    )
    parser.add_argument(
        "--recording-processing",
        type=float,
        default=0.0,
        help="simulated seconds a recording stays 'processing'",
    )
    parser.add_argument("--voice-status-url", help="the hotline's status callback")
    parser.add_argument(
        "--voice-status-events",
        default="completed",
        help="events sent to --voice-status-url (Twilio: only 'completed')",
    )
    parser.add_argument("--speed", type=float, default=1.0, help="real seconds per sim second")
    parser.add_argument("--duplicate-events", type=float, default=0.0, help="probability 0..1")
    parser.add_argument("--reorder-events", action="store_true")
    parser.add_argument("--seed", type=int)
    parser.add_argument(
        "--behaviours",
        help='JSON file: {"+8613800138000": {"busy": true}, "*": {"answer_after": 2}}',
    )
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


def _prefixes(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    """Start the simulator and serve until interrupted."""
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    simulator = Simulator(
        account_sid=args.account_sid,
        auth_token=args.auth_token,
        voice_url=args.voice_url,
        voice_status_url=args.voice_status_url,
        voice_status_events=args.voice_status_events.replace(",", " ").split(),
        speed=args.speed,
        duplicate_events=args.duplicate_events,
        reorder_events=args.reorder_events,
        seed=args.seed,
        hotline=args.hotline,
        voice_fallback_url=args.voice_fallback_url,
        owned_numbers=args.owned_number,
        verified_caller_ids=args.verified_caller_id,
        clients=args.client,
        geo_allowed=_prefixes(args.geo_allow) if args.geo_allow else None,
        geo_blocked=_prefixes(args.geo_block),
        calls_per_second=args.calls_per_second,
        recording_processing=args.recording_processing,
    )
    if args.behaviours:
        with open(args.behaviours, encoding="utf-8") as handle:
            for number, behaviour in json.load(handle).items():
                simulator.engine.set_behaviour(number, behaviour)
    base_url = simulator.start(args.host, args.port)
    logging.getLogger("telephony.simulator").info(
        "Twilio simulator on %s (account %s, speed %s)", base_url, args.account_sid, args.speed
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        simulator.stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        signal.pause()
    except KeyboardInterrupt:
        simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
