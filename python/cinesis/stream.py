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
        """Yields records of every shard until stop() (see cinesis.Consumer). A stop() made
        while no read() runs applies to the next one: it returns at once."""
        from .stores import ReadingThreadCheckpointerStore
        store = self.checkpoints
        if not isinstance(store, ReadingThreadCheckpointerStore):
            store = None
        with self._lock:
            if self._stop:
                self._stop = False
                return
        consumer = None
        records = None
        try:
            if store is not None:
                store.begin(self.client, self.stream_name)
            consumer = self.consumer()
            if store is not None:
                _pump_around_polls(consumer, store)
            with self._lock:
                self._consumer = consumer
                if self._stop:
                    consumer.stop()
            records = iter(consumer)
            for record in records:
                yield record
        finally:
            with self._lock:
                self._consumer = None
                self._stop = False
            try:
                if records is not None and hasattr(records, 'close'):
                    records.close()  # its own cleanup (checkpoints) before the consumer goes
            finally:
                if store is not None:
                    store.detach()
                if consumer is not None:
                    consumer.close()
                if store is not None:
                    store.end()

    def stop(self):
        """Makes the running read() return after the record being handled (any thread,
        signal handlers included); when no read() runs, the next one returns at once."""
        with self._lock:
            c = self._consumer
            if c is None:
                self._stop = True
                return
        c.stop()


def _pump_around_polls(consumer, store):
    """A ReadingThreadCheckpointerStore's pump() runs on the reading thread before each of
    the consumer's polls (the iteration polls at most poll_timeout apart while idle). Not
    after: records polled must reach the caller (a failure then would lose them)."""
    def wrap(poll):
        def polled(*args, **kwargs):
            store.pump()
            return poll(*args, **kwargs)
        return polled
    consumer.poll_batch = wrap(consumer.poll_batch)
    consumer.poll = wrap(consumer.poll)
