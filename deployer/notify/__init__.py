"""Deployment notifications: who hears about which transition, in what format, and how it is sent.

A transition and its event types are written together (``Deployment.pending_events``); the
outbox (``deployer/outbox.py``) turns them into one durable entry per subscriber and sends them.
This package holds the parts it is made of, pure decisions apart from I/O:

- ``subscribers``: the ``webhooks`` and ``event_grid_topic`` config, validated (pure but for the
  resolver it is handed);
- ``events``: which event types are notified, filters, deterministic ids, entries (pure);
- ``cloudevents``, ``slack``, ``teams``: the body of each format (pure); ``signing``: Standard
  Webhooks signatures (pure); ``render``: the request for one entry and one subscriber (pure);
- ``retry``: outcomes and the retry schedule (pure); ``addresses``: SSRF address rules (pure);
- ``safe_http``: the webhook sender (resolve, check, connect to the checked address);
  ``eventgrid_topic``: Event Grid custom topic publishing; ``table_outbox``: the Table adapter.
"""
