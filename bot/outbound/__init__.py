"""Everything ai-roi sends out over HTTP goes through this package.

- ``gate``: one ``RateGate`` per destination: a ``Retry-After`` seen by any sender holds every
  sender of that destination, and requests can be paced (Slack's DMs, Cursor's 20 calls a minute);
- ``retry``: when to try again and how long to wait (``Retry-After`` first, else exponential
  backoff with full jitter), built on tenacity;
- ``clients``: the only place clients are built (slack-sdk ``WebClient``, ``httpx.Client``), with
  explicit timeouts and the SDK's own retry handlers off;
- ``http``: ``Outbound``, a JSON-over-HTTP caller for vendor APIs that combines the three and maps
  answers to typed errors (credential refused, cursor expired, rate limited, unavailable).
"""
