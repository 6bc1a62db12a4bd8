"""``python -m bot`` is the same as the ``ai-roi`` command."""

from bot.cli import main

raise SystemExit(main())
