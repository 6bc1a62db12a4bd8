"""ai-roi: private weekly feedback on AI use, in Slack, instead of a token leaderboard."""

__version__ = "0.1.0"
