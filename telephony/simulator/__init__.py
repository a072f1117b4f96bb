"""A local stand-in for Twilio: its REST API in, Twilio-signed webhooks out.

Used by the embedded demo, the tests and the benchmarks. Run it in-process
(:class:`Simulator`) or as a process (``python -m telephony.simulator --help``).

REST API (what the twilio library calls): ``Calls.json`` (create, list with ``To``, ``From``,
``Status``, ``StartTime>`` / ``StartTime<``), ``Calls/{sid}.json`` (fetch, update with
``Status``, ``Url`` or ``Twiml``), ``Messages.json`` (create, list with ``To``, ``DateSent>``),
``Messages/{sid}.json``, ``Queues.json``, ``Queues/{sid}.json``, ``Queues/{sid}/Members.json``,
``Recordings/{sid}.json`` (``processing`` -> ``completed``) and the recording's audio.

It refuses what Twilio refuses:

- a ``<Dial>`` with more than ten ``<Number>`` / ``<Client>`` / ``<Sip>`` nouns: the document
  fails (error 12200), the call's fallback URL is tried, else the call ends; a ``<Dial>`` in a
  screening document fails with 13201; documents that are not TwiML with 12100;
- once the account has numbers (``hotline``, ``owned_numbers``): a REST ``From`` that is not
  one of them or of ``verified_caller_ids`` (21210), a ``<Dial callerId>`` that is neither the
  call's own ``From`` / ``To`` nor the account's (13214), an SMS sender the account does not
  own (21606);
- destinations outside the geographic permissions (``geo_allowed`` / ``geo_blocked``, E.164
  prefixes; default everywhere): 21215 for REST calls, 21408 for SMS, 13227 for a ``<Dial>``
  leg; numbers that are not E.164 (21211, 13223);
- REST calls beyond ``calls_per_second`` (default 1) are accepted and stay ``queued`` until
  their slot (``queue_time`` in milliseconds);
- a ``client:`` identity without a registered device (``clients``, or ``/sim/clients``;
  until the first registration every identity answers) does not answer (``no-answer``);
- a voice URL that fails (unreachable, 5xx, bad TwiML) is not retried: the number's
  ``voice_fallback_url`` (or the REST call's ``FallbackUrl``) is requested with ``ErrorCode``
  and ``ErrorUrl``. Only a connection that could not be made is tried again. Every error is
  listed at ``/sim/alerts``, as in Twilio's debugger.

Screening: ``<Number url>`` / ``<Client url>`` TwiML runs on the answered leg before the bridge
(``telephony.simulator.screening``); a ``<Gather>`` there or anywhere gets the keys the party's
behaviour scripts (``press``, ``press_after``; a voicemail never presses). ``amd`` scripts the
``AnsweredBy`` of machine detection. Recordings are ``processing`` for
``recording_processing`` simulated seconds, then ``completed`` with their status callback.
Queues: see ``telephony.simulator.queueing``.

``/sim`` controls (JSON): ``GET calls``, ``messages``, ``webhooks?kind=&call_sid=``,
``behaviour``, ``account``, ``alerts``, ``queues``; ``POST behaviour`` ``{"number", "behaviour"}``,
``chaos`` ``{"duplicate_events", "reorder_events"}``, ``inbound`` ``{"from", "to"}``,
``numbers`` ``{"number", "voice_url", "voice_fallback_url", "status_callback", "owned"}``,
``caller-ids`` ``{"number", "verified"}``, ``clients`` ``{"identity", "registered"}`` or
``{"all": true}``, ``geo`` ``{"allowed": [...] | null, "blocked": [...]}``, ``pacing``
``{"calls_per_second"}``, ``faults`` ``{"respond_late": seconds, "count"}`` (the next REST
creations are accepted but answered late: a client time-out after acceptance), ``reset``,
``wait-idle``. Bad input gets a 400 naming the field.

Virtual time (``virtual=True``, ``start``, ``seed``): see ``telephony.simulator.virtual``; with
``Simulator.deliver_to(wsgi_app, before_delivery=...)`` and ``Simulator.http_client()`` the app
and the simulator run in one process (``telephony.simulator.inprocess``).
"""

from __future__ import annotations

from telephony.simulator.behaviour import Behaviour
from telephony.simulator.server import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, Simulator

__all__ = ["DEFAULT_ACCOUNT_SID", "DEFAULT_AUTH_TOKEN", "Behaviour", "Simulator"]
