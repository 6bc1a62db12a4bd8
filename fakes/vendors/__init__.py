"""Fake vendor admin APIs on 127.0.0.1 (port 0), one per vendor, for the pull connectors' tests.

Each answers like its vendor's public reference: authentication, pagination with opaque
cursors, limits, error bodies; and can be told to answer 429 with ``Retry-After``, 5xx, 401, or
410 for an expired cursor. Data is held per day and may be changed between pulls (a restated
day). ``base.FakeVendor`` holds what they share.
"""
