"""The event log port and its adapters."""
