"""Handlers for the consume command tests."""

HANDLED = []


def collect(record):
    HANDLED.append(record.data)
