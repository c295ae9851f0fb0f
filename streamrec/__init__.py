"""streamrec: a real-time recommendation engine."""

__version__ = "0.1.0"
