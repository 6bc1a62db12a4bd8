"""What an operator sees of a running ai-roi: Prometheus metrics, structured logs, request ids.

* ``metrics``: the process's counters (one call where each event happens) and ``/metrics``;
* ``sources``: the connectors' lag and errors, read from ``source_state`` at scrape time;
* ``logs``: the one logging set-up (text or JSON lines), called at start, never at import;
* ``requests``: the ASGI middleware giving each HTTP request an id and counting its answer.

Nothing here carries a person's identity: no email, name or Slack id is ever a label.
"""
