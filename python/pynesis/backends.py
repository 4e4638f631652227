"""pynesis.backends on cinesis: records are JSON (read() yields dicts, put(key, record)
encodes a dict). pynesis's KinesisBackend failed when constructed (misspelt client
attribute); this one works."""

import json

from . import streams


class Backend(object):
    def read(self):
        raise NotImplementedError

    def put(self, key, record):
        raise NotImplementedError

    def stop(self):
        raise NotImplementedError


def _decode(record):
    data = record.data
    if isinstance(data, bytes) and not isinstance(data, str):
        data = data.decode('utf-8')
    return json.loads(data)


class KinesisBackend(Backend):
    def __init__(self, stream_name, kinesis_client=None, batch_size=10000, read_interval=1,
                 shard_sync_interval=60, checkpointer=None, region_name=None):
        self.stream = streams.KinesisStream(
            stream_name, region_name=region_name, kinesis_client=kinesis_client,
            batch_size=batch_size, read_interval=read_interval,
            shard_sync_interval=shard_sync_interval, checkpointer=checkpointer)

    def read(self):
        for record in self.stream.read():
            yield _decode(record)

    def put(self, key, record):
        return self.stream.put(key, json.dumps(record).encode('utf-8'))

    def stop(self):
        self.stream.stop()


class DummyBackend(Backend):
    def __init__(self, fake_values=None, loop=True):
        self.stream = streams.DummyStream(
            [json.dumps(v).encode('utf-8') for v in (fake_values or [])], loop=loop)

    def read(self):
        for record in self.stream.read():
            yield _decode(record)

    def put(self, key, record):
        return self.stream.put(key, json.dumps(record).encode('utf-8'))

    def stop(self):
        self.stream.stop()
