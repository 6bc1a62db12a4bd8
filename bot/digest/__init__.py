"""The weekly digest: facts → nudges → reflection → Block Kit → delivery."""
