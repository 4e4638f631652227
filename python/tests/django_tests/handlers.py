"""Handlers for the consume command tests."""

HANDLED = []


def collect(record):
    HANDLED.append(record.data)


def append_to_file(record):
    """Appends "<data>\n" to $CINESIS_TEST_OUT.<pid> (flushed before returning, so a record
    reported handled is on disk even if the process is then killed)."""
    import os
    path = '%s.%d' % (os.environ['CINESIS_TEST_OUT'], os.getpid())
    with open(path, 'ab') as f:
        f.write(record.data + b'\n')
        f.flush()
