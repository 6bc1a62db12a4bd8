"""Ingest: decode a body, parse it with the source's adapter, store what is valid."""
