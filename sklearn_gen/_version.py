"""Version of the sklearn_gen package."""

__version__ = "0.1.0"
