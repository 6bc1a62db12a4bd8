"""The HTTP edge: translates requests into calls on the core and errors into 4xx JSON."""
