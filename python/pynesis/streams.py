"""pynesis.streams on cinesis: Stream, KinesisStream, DummyStream, KinesisRecord.

KinesisStream reads through libcinesis's consumer (closed shards finished, parents before
children, shard changes seen at once, one checkpoint per handled batch, stop() from any
thread at once). A ``kinesis_client`` that is a boto3 client is honoured (its endpoint,
region and credentials drive the C++ path); any other object with boto3's Kinesis methods
(a test fake) is called as pynesis calls it, with the same fixes.
"""

import threading
import time

import cinesis
from cinesis._util import PY2
from cinesis.consumer import Record as KinesisRecord  # noqa: F401
from cinesis.errors import KinesisError, as_client_error
from cinesis.stores import ReadingThreadCheckpointerStore, Store

from .checkpointers import InMemoryCheckpointer


class Stream(object):
    """Abstract base: read() yields records; put(key, data) writes one; stop() makes the
    running read() return after the record being handled (pynesis: a ``_stop`` flag that
    stays set, so a later read() returns at once too)."""

    def __init__(self, *args, **kwargs):
        self._stop = False

    def read(self):
        raise NotImplementedError

    def put(self, key, data):
        raise NotImplementedError

    def stop(self):
        self._stop = True


def _is_boto3_client(obj):
    return type(obj).__module__.startswith('botocore') and hasattr(obj, 'meta') and \
        hasattr(obj.meta, 'endpoint_url')


def client_from_boto3(boto_client):
    """A cinesis.Client with a boto3 client's endpoint, region and credentials."""
    creds = None
    signer = getattr(boto_client, '_request_signer', None)
    if signer is not None and getattr(signer, '_credentials', None) is not None:
        creds = signer._credentials.get_frozen_credentials()
    return cinesis.Client(endpoint=boto_client.meta.endpoint_url,
                          region=boto_client.meta.region_name,
                          access_key_id=creds.access_key if creds else None,
                          secret_access_key=creds.secret_key if creds else None,
                          session_token=creds.token if creds else None)


def _text_key(record):
    """Python 2: the partition key as unicode, as boto3 (JSON) gives it."""
    key = record.partition_key
    if PY2 and isinstance(key, str):
        record.partition_key = key.decode('utf-8', 'replace')
    return record


def _checkpoint_store(checkpointer):
    if isinstance(checkpointer, Store):
        return checkpointer
    if not (hasattr(checkpointer, 'checkpoint') and hasattr(checkpointer, 'get_checkpoint')):
        raise TypeError('checkpointer must be a pynesis Checkpointer, not %s'
                        % type(checkpointer).__name__)
    # Called on the thread that iterates read() only, as pynesis did.
    return ReadingThreadCheckpointerStore(checkpointer)


class KinesisStream(Stream):
    def __init__(self, stream_name, region_name=None, aws_access_key_id=None,
                 aws_secret_access_key=None, kinesis_client=None, batch_size=10000,
                 read_interval=1, shard_sync_interval=60, checkpointer=None,
                 iterator_type='TRIM_HORIZON'):
        Stream.__init__(self)
        self.stream_name = stream_name
        self.batch_size = batch_size
        self.read_interval = read_interval
        self.shard_sync_interval = shard_sync_interval
        self.iterator_type = iterator_type
        self.checkpointer = checkpointer if checkpointer is not None else InMemoryCheckpointer()
        self._wake = threading.Event()
        self._fake = None
        self._stream = None
        self._boto = None
        # Errors are botocore ClientErrors too (what pynesis, over boto3, raised) unless the
        # caller passed a cinesis client.
        self._client_errors = not isinstance(kinesis_client, cinesis.Client)
        if kinesis_client is not None and not isinstance(kinesis_client, cinesis.Client) \
                and not _is_boto3_client(kinesis_client):
            self._fake = _BotoLikeReader(self, kinesis_client)
            return
        if isinstance(kinesis_client, cinesis.Client):  # e.g. cinesis.LocalKinesis()
            client = kinesis_client
        elif kinesis_client is not None:
            client = client_from_boto3(kinesis_client)
            self._boto = kinesis_client
        else:
            client = cinesis.Client(region=region_name, access_key_id=aws_access_key_id,
                                    secret_access_key=aws_secret_access_key)
        self._stream = cinesis.Stream(
            stream_name, client=client, application='pynesis',
            checkpoints=_checkpoint_store(self.checkpointer), initial_position=iterator_type,
            max_records_per_call=min(int(batch_size), 10000),
            idle_backoff=read_interval, shard_sync_interval=shard_sync_interval)

    @property
    def client(self):
        return self._stream.client if self._stream is not None else None

    def _error(self, error, operation_name):
        if not self._client_errors:
            return error
        out = as_client_error(error, getattr(error, 'operation', None) or operation_name,
                              self._boto)
        out.__suppress_context__ = True  # Python 3: not "during handling of ..."
        return out

    def read(self):
        if self._stop:
            return
        if self._fake is not None:
            for record in self._fake.read():
                yield record
            return
        records = self._stream.read()
        try:
            while True:
                try:
                    record = next(records)
                except StopIteration:
                    return
                except KinesisError as e:
                    raise self._error(e, 'GetRecords')
                yield _text_key(record)
        finally:
            records.close()

    def put(self, key, data):
        """One PutRecord; returns a cinesis PutResult (shard_id, sequence_number), where
        pynesis returned None."""
        if self._fake is not None:
            return self._fake.put(key, data)
        try:
            return self._stream.put(data, partition_key=key)
        except KinesisError as e:
            raise self._error(e, 'PutRecord')

    def stop(self):
        self._stop = True
        self._wake.set()
        if self._stream is not None:
            self._stream.stop()


class _BotoLikeReader(object):
    """pynesis's reading loop over a boto3-like client (its calls: get_paginator(
    "describe_stream").paginate(StreamName=...) for the shards, get_shard_iterator,
    get_records, put_record, and only Data and SequenceNumber required in a record), with
    pynesis's bugs fixed: a closed shard (no NextShardIterator) is finished and
    checkpointed as SHARD_END, children start only after their parents are finished, the
    shard list is re-read as soon as a shard closes, checkpoints are written once per
    handled batch (up to the last record handled when read() is left in the middle of
    one), stop() wakes the sleep. A fake without get_paginator is asked describe_stream
    (pages while HasMoreShards is True)."""

    SHARD_END = 'SHARD_END'

    def __init__(self, owner, client):
        self.owner = owner
        self.client = client

    def put(self, key, data):
        resp = self.client.put_record(StreamName=self.owner.stream_name, Data=data,
                                      PartitionKey=key)
        if isinstance(resp, dict):
            return cinesis.PutResult(resp.get('ShardId'), resp.get('SequenceNumber'))
        return None

    def _shards(self):
        name = self.owner.stream_name
        get_paginator = getattr(self.client, 'get_paginator', None)
        if get_paginator is not None:
            shards = []
            for page in get_paginator('describe_stream').paginate(StreamName=name):
                shards.extend((page.get('StreamDescription') or {}).get('Shards') or [])
            return shards
        shards = []
        kwargs = {'StreamName': name}
        while True:
            desc = self.client.describe_stream(**kwargs).get('StreamDescription') or {}
            page = desc.get('Shards') or []
            shards.extend(page)
            if desc.get('HasMoreShards') is not True or not page:
                return shards
            kwargs['ExclusiveStartShardId'] = page[-1]['ShardId']

    def _iterator(self, shard_id, checkpoint):
        kwargs = {'StreamName': self.owner.stream_name, 'ShardId': shard_id}
        if checkpoint is not None:
            kwargs.update(ShardIteratorType='AFTER_SEQUENCE_NUMBER',
                          StartingSequenceNumber=checkpoint)
        else:
            kwargs['ShardIteratorType'] = self.owner.iterator_type
        return self.client.get_shard_iterator(**kwargs).get('ShardIterator')

    def read(self):
        owner = self.owner
        cp = owner.checkpointer
        iterators = {}    # open shards: shard id -> iterator (None: not asked yet)
        checkpoints = {}  # shard id -> its checkpoint when first seen
        finished = set()
        parents = {}
        last_sync = None
        pending = [None, None]  # [shard id, sequence] handled but not checkpointed yet
        try:
            while not owner._stop:
                if last_sync is None or \
                        time.time() - last_sync >= owner.shard_sync_interval:
                    shards = self._shards()
                    known = set(s.get('ShardId') for s in shards)
                    for s in shards:
                        sid = s.get('ShardId')
                        ps = [s.get('ParentShardId'), s.get('AdjacentParentShardId')]
                        parents[sid] = [p for p in ps if p and p in known]
                        if sid in iterators or sid in finished:
                            continue
                        checkpoint = cp.get_checkpoint(sid)
                        if checkpoint == self.SHARD_END:
                            finished.add(sid)
                        else:
                            checkpoints[sid] = checkpoint
                            iterators[sid] = None  # opened once its parents are finished
                    last_sync = time.time()
                got_any = False
                for sid in sorted(iterators):
                    if owner._stop:
                        return
                    if any(p not in finished for p in parents.get(sid, [])):
                        continue  # parents first: per-key order across a reshard
                    if iterators[sid] is None:
                        iterators[sid] = self._iterator(sid, checkpoints.get(sid))
                    resp = self.client.get_records(ShardIterator=iterators[sid],
                                                   Limit=owner.batch_size)
                    records = resp.get('Records') or []
                    for r in records:
                        got_any = True
                        yield _text_key(KinesisRecord(
                            r.get('Data'), r.get('PartitionKey'), r.get('SequenceNumber'),
                            sid, _ms(r.get('ApproximateArrivalTimestamp'))))
                        pending[:] = [sid, r.get('SequenceNumber')]
                        if owner._stop:
                            return  # the finally checkpoints what was handled
                    if pending[0] is not None:
                        pending[0] = None
                        cp.checkpoint(sid, pending[1])
                    nxt = resp.get('NextShardIterator')
                    if nxt is None:  # closed shard, read to its end
                        cp.checkpoint(sid, self.SHARD_END)
                        finished.add(sid)
                        del iterators[sid]
                        last_sync = None  # its children are there now
                    else:
                        iterators[sid] = nxt
                if not got_any and last_sync is not None and not owner._stop:
                    owner._wake.wait(owner.read_interval)
        finally:
            # Left in the middle of a batch (stop, break, an exception in the caller's
            # loop): the records handled so far are checkpointed, the rest read again.
            if pending[0] is not None:
                sid, seq = pending
                pending[0] = None
                cp.checkpoint(sid, seq)


def _ms(ts):
    if ts is None:
        return 0
    if hasattr(ts, 'year'):
        from cinesis._util import to_ms
        return to_ms(ts)
    return int(float(ts) * 1000)


class DummyStream(Stream):
    """The dummy Kinesis done right: an in-process LocalKinesis stream. ``fake_values`` are
    put first; read() yields them and everything put() since, as records (real sequence
    numbers, partition key "dummy" for the fake values). With ``loop`` the fake values are
    put again whenever the stream has been read to its end and read() goes on until stop()
    (pynesis: one value per second, cycling forever); without, read() returns once it has
    yielded everything written so far."""

    def __init__(self, fake_values=None, loop=True):
        Stream.__init__(self)
        self.fake_values = list(fake_values or [])
        self.loop = loop
        self.local = cinesis.LocalKinesis()
        self._stream = cinesis.Stream('dummy', client=self.local, application='dummy',
                                      create=True, shard_count=1, idle_backoff=0.01)
        self._lock = threading.Lock()
        self._consumer = None
        self._written = 0  # records in the stream (the only writer is this object)
        self._put_fakes()

    def _put_fakes(self):
        for v in self.fake_values:
            self._put('dummy', v)

    def _put(self, key, data):
        out = self.local.put_record('dummy', data, key)
        with self._lock:
            self._written += 1
        return out

    def read(self):
        with self._lock:
            if self._stop:
                return
            consumer = self._consumer = self._stream.consumer()
        seen = 0  # a new consumer starts at the beginning of the stream
        try:
            while not self._stop:
                batch = consumer.poll(0.05)
                if not batch:
                    with self._lock:
                        at_end = seen >= self._written
                    if at_end and not self.loop:
                        return
                    if at_end and self.fake_values:
                        self._put_fakes()
                    continue
                for rec in batch:
                    seen += 1
                    yield _text_key(rec)
                    if self._stop:
                        return
        except cinesis.ClosedError:
            if not self._stop:
                raise
        finally:
            with self._lock:
                self._consumer = None
            consumer.close()

    def put(self, key, data):
        """Written to the in-process stream (read() yields it); returns a PutResult."""
        return self._put(key, data)

    def stop(self):
        with self._lock:
            self._stop = True
            c = self._consumer
        if c is not None:
            c.stop()
