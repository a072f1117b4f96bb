"""A dealership on a virtual clock: ``dcc sim dealership`` and ``dcc sim staffing``.

The simulation drives the real system — the signed lead and Twilio voice webhooks, the
telephony simulator's engine interpreting the app's TwiML, the domain functions the pages call,
and the outbox's jobs — and only time is virtual. Modules: :mod:`~dcc.sim.scenario` (the
scenario file), :mod:`~dcc.sim.arrivals` (who turns up when), :mod:`~dcc.sim.people` (how
customers and staff behave), :mod:`~dcc.sim.world` (the app, the simulator, the staff),
:mod:`~dcc.sim.loop` (the event loop), :mod:`~dcc.sim.dealership` (the people's days on
it), :mod:`~dcc.sim.metrics` (what is measured),
:mod:`~dcc.sim.run` (one run) and :mod:`~dcc.sim.output` (text and JSON).
"""
