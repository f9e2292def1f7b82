"""A tiny greeting web service (stdlib only): the demo application CI/CD builds, tests and ships."""

__version__ = "1.0.0"
