"""Stream: one named stream with its client, checkpoint store and consumer settings, the
object behind pynesis's KinesisStream and Django's get_stream(name).

    stream = cinesis.Stream('orders', client=cinesis.LocalKinesis(), application='billing')
    stream.put(b'data', partition_key='k')
    for record in stream.read():      # stream.stop() from anywhere ends it
        ...
"""

import threading

from .client import Client


class Stream(object):
    def __init__(self, stream_name, client=None, application=None, checkpoints=None,
                 leases=None, initial_position='TRIM_HORIZON', create=False, shard_count=1,
                 **consumer_options):
        self.stream_name = stream_name
        self.client = client if client is not None else Client()
        self.application = application or stream_name
        self.checkpoints = checkpoints
        self.leases = leases
        self.initial_position = initial_position
        self.consumer_options = consumer_options
        self._lock = threading.Lock()
        self._consumer = None
        self._stop = False
        self._producer = None
        if create:
            self.ensure_exists(shard_count)

    def ensure_exists(self, shard_count=1):
        """Creates the stream (and waits until ACTIVE) unless it exists."""
        from .errors import ResourceInUseException
        try:
            self.client.create_stream(self.stream_name, shard_count)
        except ResourceInUseException:
            self.client.wait_for_active(self.stream_name)

    def put(self, data, partition_key=None, explicit_hash_key=None):
        """One synchronous PutRecord (raises on failure); returns PutResult."""
        if partition_key is None:
            import uuid
            partition_key = uuid.uuid4().hex
        return self.client.put_record(self.stream_name, data, partition_key, explicit_hash_key)

    def producer(self, **kwargs):
        return self.client.producer(self.stream_name, **kwargs)

    def consumer(self, **kwargs):
        opts = dict(self.consumer_options)
        opts.update(kwargs)
        opts.setdefault('checkpoints', self.checkpoints)
        opts.setdefault('leases', self.leases)
        opts.setdefault('initial_position', self.initial_position)
        return self.client.consumer(self.stream_name, self.application, **opts)

    def read(self):
        """Yields records of every shard until stop() (see cinesis.Consumer)."""
        consumer = self.consumer()
        with self._lock:
            self._consumer = consumer
            if self._stop:
                consumer.stop()
        try:
            for record in consumer:
                yield record
        finally:
            with self._lock:
                self._consumer = None
                self._stop = False
            consumer.close()

    def stop(self):
        """Makes the running read() return after the record being handled (any thread,
        signal handlers included)."""
        with self._lock:
            c = self._consumer
            if c is None:
                return
        c.stop()
