"""Stand-ins for the systems ai-roi does not own, shared by ``tests/`` and ``bench/``.

A fake Slack Web API (with Socket Mode and signed requests into the app), a fake
OpenAI-compatible server, the Block Kit checks the fake Slack applies, and a slow reference model
of a person-week's facts (one plain query per number) that the fast grouped queries are compared
with. They serve on 127.0.0.1 port 0 and read Slack's reference data from
``tests/fixtures/slack-reference``. Not part of the app: nothing in ``bot/`` or ``jobs/`` imports
this package, and it is not installed with it.
"""
