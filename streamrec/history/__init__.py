"""The event history port and its adapters."""
