"""Deployment notifications: who hears about which transition, in what format, and how it is sent.

A transition and its event types are written together (``Deployment.pending_events``); the
outbox (``outbox``) turns them into one durable entry per subscriber and sends them. The
subscribers and the outbox's values are in ``deployer.domain`` (``subscribers``,
``notifications``), the senders and the Table outbox in ``deployer.adapters`` (``safe_http``,
``eventgrid_topic``, ``table_outbox``). Here:

- ``outbox``: writing entries with a transition's events, and sending the due ones (a service);
  ``redelivery``: sending a dead entry again, as a person asks;
- ``events``: which event types are notified, deterministic ids, the entries of a flush (pure);
- ``cloudevents``, ``slack``, ``teams`` (with ``summary``): the body of each format; ``signing``:
  Standard Webhooks signatures; ``render``: the request for one entry and one subscriber (pure);
- ``retry``: what an attempt's outcome means and the retry schedule (pure).
"""
