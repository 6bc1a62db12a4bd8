"""The store: table models, the engine, migrations, and small data-access functions."""
