"""``ai-roi demo``: a synthetic organisation through the real pipeline, digests on the console."""
