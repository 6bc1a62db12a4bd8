"""Block Kit builders: pure functions returning ``(blocks, text)``."""
