"""pynesis.backends on cinesis: records are JSON (read() yields dicts, put(key, record)
encodes a dict). pynesis's KinesisBackend failed when constructed (misspelt client
attribute); this one works."""

import json
import logging

from . import streams

logger = logging.getLogger(__name__)


class Backend(object):
    """Abstract base: read() yields dicts; put(key, record) writes one; stop() makes the
    running read() return (pynesis: a ``_stop`` flag that stays set)."""

    def __init__(self, *args, **kwargs):
        self._stop = False

    def read(self):
        raise NotImplementedError

    def put(self, key, record):
        raise NotImplementedError

    def stop(self):
        self._stop = True


def _decode(record):
    """The record's JSON as a dict; a payload that is not JSON is logged and gives {} (as in
    pynesis)."""
    data = record.data
    try:
        if isinstance(data, (bytes, bytearray)) and not isinstance(data, str):
            data = bytes(data).decode('utf-8')
        return json.loads(data)
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        logger.error('Cannot decode JSON payload from Kinesis Record: %r', record.data)
        return {}


class _StreamBackend(Backend):
    def read(self):
        if self._stop:
            return
        records = self.stream.read()
        try:
            for record in records:
                yield _decode(record)
        finally:
            records.close()

    def put(self, key, record):
        return self.stream.put(key, json.dumps(record).encode('utf-8'))

    def stop(self):
        self._stop = True
        self.stream.stop()


class KinesisBackend(_StreamBackend):
    def __init__(self, stream_name, kinesis_client=None, batch_size=10000, read_interval=1,
                 shard_sync_interval=60, checkpointer=None, region_name=None):
        Backend.__init__(self)
        self.stream = streams.KinesisStream(
            stream_name, region_name=region_name, kinesis_client=kinesis_client,
            batch_size=batch_size, read_interval=read_interval,
            shard_sync_interval=shard_sync_interval, checkpointer=checkpointer)


class DummyBackend(_StreamBackend):
    def __init__(self, fake_values=None, loop=True):
        Backend.__init__(self)
        self.stream = streams.DummyStream(
            [json.dumps(v).encode('utf-8') for v in (fake_values or [])], loop=loop)
