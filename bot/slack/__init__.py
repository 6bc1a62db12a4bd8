"""The Slack edge: Block Kit builders (pure), listeners, and the Web API client seam."""
