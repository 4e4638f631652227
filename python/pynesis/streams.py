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
from cinesis.consumer import Record as KinesisRecord  # noqa: F401
from cinesis.stores import as_store

from .checkpointers import InMemoryCheckpointer


class Stream(object):
    """Abstract base: read() yields records; put(key, data) writes one; stop() ends read()."""

    def read(self):
        raise NotImplementedError

    def put(self, key, data):
        raise NotImplementedError

    def stop(self):
        raise NotImplementedError


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


class KinesisStream(Stream):
    def __init__(self, stream_name, region_name=None, aws_access_key_id=None,
                 aws_secret_access_key=None, kinesis_client=None, batch_size=10000,
                 read_interval=1, shard_sync_interval=60, checkpointer=None,
                 iterator_type='TRIM_HORIZON'):
        self.stream_name = stream_name
        self.batch_size = batch_size
        self.read_interval = read_interval
        self.shard_sync_interval = shard_sync_interval
        self.iterator_type = iterator_type
        self.checkpointer = checkpointer if checkpointer is not None else InMemoryCheckpointer()
        self._fake = None
        self._stream = None
        if kinesis_client is not None and not isinstance(kinesis_client, cinesis.Client) \
                and not _is_boto3_client(kinesis_client):
            self._fake = _BotoLikeReader(self, kinesis_client)
            return
        if isinstance(kinesis_client, cinesis.Client):  # e.g. cinesis.LocalKinesis()
            client = kinesis_client
        elif kinesis_client is not None:
            client = client_from_boto3(kinesis_client)
        else:
            client = cinesis.Client(region=region_name, access_key_id=aws_access_key_id,
                                    secret_access_key=aws_secret_access_key)
        self._stream = cinesis.Stream(
            stream_name, client=client, application='pynesis',
            checkpoints=as_store(self.checkpointer), initial_position=iterator_type,
            max_records_per_call=min(int(batch_size), 10000),
            idle_backoff=read_interval, shard_sync_interval=shard_sync_interval)

    @property
    def client(self):
        return self._stream.client if self._stream is not None else None

    def read(self):
        if self._fake is not None:
            return self._fake.read()
        return self._stream.read()

    def put(self, key, data):
        if self._fake is not None:
            return self._fake.put(key, data)
        return self._stream.put(data, partition_key=key)

    def stop(self):
        if self._fake is not None:
            self._fake.stop()
        else:
            self._stream.stop()


class _BotoLikeReader(object):
    """pynesis's reading loop over a boto3-like client, with pynesis's bugs fixed: a closed
    shard (no NextShardIterator) is finished and checkpointed as SHARD_END, children start
    only after their parents are finished, the shard list is re-read as soon as a shard
    closes, checkpoints are written once per handled batch, stop() wakes the sleep."""

    SHARD_END = 'SHARD_END'

    def __init__(self, owner, client):
        self.owner = owner
        self.client = client
        self._stop = threading.Event()

    def stop(self):
        self._stop.set()

    def put(self, key, data):
        return self.client.put_record(StreamName=self.owner.stream_name, Data=data,
                                      PartitionKey=key)

    def _shards(self):
        shards = []
        kwargs = {'StreamName': self.owner.stream_name}
        while True:
            desc = self.client.describe_stream(**kwargs)['StreamDescription']
            shards.extend(desc['Shards'])
            if not desc.get('HasMoreShards') or not desc['Shards']:
                return shards
            kwargs['ExclusiveStartShardId'] = desc['Shards'][-1]['ShardId']

    def _iterator(self, shard_id):
        cp = self.owner.checkpointer.get_checkpoint(shard_id)
        kwargs = {'StreamName': self.owner.stream_name, 'ShardId': shard_id}
        if cp:
            kwargs.update(ShardIteratorType='AFTER_SEQUENCE_NUMBER', StartingSequenceNumber=cp)
        else:
            kwargs['ShardIteratorType'] = self.owner.iterator_type
        return self.client.get_shard_iterator(**kwargs)['ShardIterator']

    def read(self):
        self._stop.clear()
        cp = self.owner.checkpointer
        iterators = {}
        finished = set(k for k, v in (cp.get_all_checkpoints() or {}).items()
                       if v == self.SHARD_END)
        parents = {}
        last_sync = None
        while not self._stop.is_set():
            if last_sync is None or time.time() - last_sync >= self.owner.shard_sync_interval:
                shards = self._shards()
                known = set(s['ShardId'] for s in shards)
                for s in shards:
                    ps = [s.get('ParentShardId'), s.get('AdjacentParentShardId')]
                    parents[s['ShardId']] = [p for p in ps if p and p in known]
                    sid = s['ShardId']
                    if sid not in iterators and sid not in finished:
                        iterators[sid] = None  # opened once its parents are finished
                last_sync = time.time()
            got_any = False
            for sid in sorted(iterators):
                if self._stop.is_set():
                    return
                if any(p not in finished for p in parents.get(sid, [])):
                    continue  # parents first: per-key order across a reshard
                if iterators[sid] is None:
                    iterators[sid] = self._iterator(sid)
                resp = self.client.get_records(ShardIterator=iterators[sid],
                                               Limit=self.owner.batch_size)
                records = resp.get('Records', [])
                for r in records:
                    got_any = True
                    yield KinesisRecord(r['Data'], r['PartitionKey'], r['SequenceNumber'],
                                        sid, _ms(r.get('ApproximateArrivalTimestamp')))
                    if self._stop.is_set():
                        if r is not records[-1]:
                            return  # handled in part: delivered again (at-least-once)
                if records:
                    cp.checkpoint(sid, records[-1]['SequenceNumber'])
                nxt = resp.get('NextShardIterator')
                if nxt is None:  # closed shard, read to its end
                    cp.checkpoint(sid, self.SHARD_END)
                    finished.add(sid)
                    del iterators[sid]
                    last_sync = None  # its children are there now
                else:
                    iterators[sid] = nxt
                if self._stop.is_set():
                    return
            if not got_any and last_sync is not None:
                self._stop.wait(self.owner.read_interval)


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
    numbers, partition key "dummy" for the fake values); with ``loop`` the fake values are
    put again whenever the stream has been read to its end (pynesis: one per second)."""

    def __init__(self, fake_values=None, loop=True):
        self.fake_values = list(fake_values or [])
        self.loop = loop
        self.local = cinesis.LocalKinesis()
        self._stream = cinesis.Stream('dummy', client=self.local, application='dummy',
                                      create=True, shard_count=1, idle_backoff=0.01)
        self._put_fakes()

    def _put_fakes(self):
        for v in self.fake_values:
            self.local.put_record('dummy', v, 'dummy')

    def read(self):
        consumer = self._stream.consumer()
        self._consumer = consumer
        try:
            while not consumer.stopped:
                batch = consumer.poll(0.05) if not consumer.stopped else []
                if not batch and self.loop and self.fake_values:
                    self._put_fakes()
                    continue
                for i, rec in enumerate(batch):
                    yield rec
                    if consumer.stopped:
                        break
                if not batch and not self.loop:
                    pass
        except cinesis.ClosedError:
            pass
        finally:
            consumer.close()

    def put(self, key, data):
        return self.local.put_record('dummy', data, key)

    def stop(self):
        c = getattr(self, '_consumer', None)
        if c is not None:
            c.stop()
