"""Consumer: reads every shard of a stream through libcinesis's Consumer (shard changes
followed with parents finished before children, checkpoints, leases shared with the other
processes of the same application).

Checkpointing (at-least-once): with ``checkpoint="after_batch"`` (the default), the records
of one poll are checkpointed when the iteration asks for the next batch, i.e. after your
code has returned from the last record of the batch. A record counts as handled once your
code returns from it to the iteration: leaving the loop (break, an exception) or stop() in
the middle of a batch checkpoints, per shard, up to the last record handled when the
consumer stops or closes, and the rest is delivered again (by the next iteration of this
consumer, or after a restart); a crash delivers the whole batch again.
``checkpoint="manual"``: call commit().
"""

import ctypes
import itertools
import operator
import struct
import sys
import threading
import time

from . import _lib
from ._util import Options, PY2, check, cstr, from_ms, native, seconds_to_ms, to_ms
from .errors import ClosedError, KinesisError, error_from_code
from .stores import as_store

FAILED_PRECONDITION = 42


class Record(object):
    """One record: ``data`` (bytes), ``partition_key``, ``sequence_number``,
    ``sub_sequence_number``, ``shard_id``, ``explicit_hash_key``, ``aggregated``,
    ``approximate_arrival_timestamp`` (datetime, UTC) and ``arrival_ms``."""
    __slots__ = ('data', 'partition_key', 'sequence_number', 'sub_sequence_number', 'shard_id',
                 'explicit_hash_key', 'aggregated', 'arrival_ms')

    def __init__(self, data, partition_key, sequence_number, shard_id, arrival_ms,
                 sub_sequence_number=0, explicit_hash_key=None, aggregated=False):
        self.data = data
        self.partition_key = partition_key
        self.sequence_number = sequence_number
        self.shard_id = shard_id
        self.arrival_ms = arrival_ms
        self.sub_sequence_number = sub_sequence_number
        self.explicit_hash_key = explicit_hash_key
        self.aggregated = aggregated

    @property
    def approximate_arrival_timestamp(self):
        return from_ms(self.arrival_ms)

    def __str__(self):
        return str(self.data)

    def __repr__(self):
        return 'Record(shard_id=%r, sequence_number=%r, partition_key=%r, data=%r)' % (
            self.shard_id, self.sequence_number, self.partition_key, self.data[:64])


_imap = getattr(itertools, 'imap', map)  # Python 2: map pads with None, imap stops
_islice = itertools.islice
_string_at = ctypes.string_at
_decode_replace = operator.methodcaller('decode', 'utf-8', 'replace')


def _split(buf, offsets):
    """[buf[offsets[i]:offsets[i + 1]] for i in range(n)], looped in C (map and slice)."""
    return list(_imap(buf.__getitem__, _imap(slice, offsets, _islice(offsets, 1, None))))


def _texts(buf, offsets, encoding):
    """_split, as text on Python 3 (keys and sequence numbers; bytes on Python 2)."""
    if PY2:
        return _split(buf, offsets)
    if encoding == 'ascii':
        return _split(buf.decode('ascii'), offsets)
    text = buf.decode('utf-8', 'replace')
    if len(text) == len(buf):  # ASCII: byte offsets are character offsets
        return _split(text, offsets)
    return list(_imap(_decode_replace, _split(buf, offsets)))


# Batches whose records all have the same data length (fixed-size payloads, the common
# case): one struct.Struct('<L>s' * n) splits the buffer in one C call, without a slice
# object and an int per record. Keyed by (n, L): the offsets that mean "uniform" (to
# compare the batch's offsets with, one memcmp) and that Struct. Few keys in practice
# (a consumer's batches are mostly max_records_per_call long); cleared when it grows.
_uniform = {}


def _uniform_split(n, size):
    try:
        return _uniform[n, size]
    except KeyError:
        pass
    if len(_uniform) >= 16:
        _uniform.clear()
    value = (struct.pack('=%dQ' % (n + 1), *range(0, n * size + 1, size)),
             struct.Struct('%ds' % size * n))
    _uniform[n, size] = value
    return value


def _split_data(base, offs, n):
    """Column `base` split at the n + 1 uint64 offsets at address `offs`: a list of bytes."""
    raw = _string_at(offs, (n + 1) * 8)
    total = struct.unpack_from('=Q', raw, n * 8)[0]
    buf = _string_at(base, total) if total else b''
    if total and total % n == 0 and n > 1:
        offsets, splitter = _uniform_split(n, total // n)
        if raw == offsets:
            return list(splitter.unpack(buf))
    return _split(buf, struct.unpack('=%dQ' % (n + 1), raw))


def _ints(addr, fmt, n, size):
    return struct.unpack('=%d%s' % (n, fmt), _string_at(addr, n * size)) if n else ()


class RecordBatch(object):
    """The records of one poll as columns, decoded on access (the fast path).

    ``len(batch)``; ``batch.data`` (list of bytes), ``partition_keys``,
    ``sequence_numbers``, ``shard_ids``, ``arrival_ms``, ``sub_sequence_numbers``,
    ``explicit_hash_keys`` (None where a record has none), ``aggregated``: lists, in the
    batch's order, each built in C-speed loops on first access and then kept. Iterating,
    indexing or ``records()`` gives Record objects (built once, on first use). The batch
    holds the C batch's memory until every column it needs is read; ``close()`` (or the
    garbage collector) frees it."""
    __slots__ = ('_lib', '_batch', '_cols', '_n', '_cache')

    def __init__(self, lib, batch):
        self._lib = lib
        self._batch = batch
        self._cache = {}
        cols = _lib.BatchColumns()
        check(lib.cinesis_batch_columns(batch, ctypes.byref(cols)))
        self._cols = cols
        self._n = cols.count

    def __len__(self):
        return self._n

    def _column(self, name):
        try:
            return self._cache[name]
        except KeyError:
            pass
        if not self._batch:
            raise ClosedError('the batch is closed')
        c, n = self._cols, self._n
        if name in ('data', 'partition_keys', 'sequence_numbers', 'explicit_hash_keys'):
            base, offs = {'data': (c.data, c.data_offsets),
                          'partition_keys': (c.partition_keys, c.key_offsets),
                          'sequence_numbers': (c.sequence_numbers, c.sequence_offsets),
                          'explicit_hash_keys': (c.explicit_hash_keys,
                                                 c.explicit_hash_key_offsets)}[name]
            if name == 'data':
                self._cache[name] = value = _split_data(base, offs, n) if n else []
                return value
            offsets = _ints(offs, 'Q', n + 1, 8)
            buf = _string_at(base, offsets[-1]) if offsets and offsets[-1] else b''
            if name == 'partition_keys':
                value = _texts(buf, offsets, 'utf-8')
            elif name == 'sequence_numbers':
                value = _texts(buf, offsets, 'ascii')
            else:
                flags = self._column('_flags')
                value = [v if f & 2 else None
                         for v, f in zip(_texts(buf, offsets, 'ascii'), flags)]
        elif name == 'shard_ids':
            count = c.shard_count
            offsets = _ints(c.shard_offsets, 'Q', count + 1, 8)
            names = _texts(_string_at(c.shard_ids, offsets[-1]), offsets, 'ascii')
            value = list(_imap(names.__getitem__, _ints(c.shard_index, 'I', n, 4)))
        elif name == 'arrival_ms':
            value = list(_ints(c.arrival_ms, 'q', n, 8))
        elif name == 'sub_sequence_numbers':
            value = list(_ints(c.sub_sequence_numbers, 'Q', n, 8))
        elif name == '_flags':
            value = bytearray(_string_at(c.flags, n)) if n else bytearray()
        elif name == 'aggregated':
            value = [f & 1 != 0 for f in self._column('_flags')]
        else:
            raise AttributeError(name)
        self._cache[name] = value
        return value

    data = property(lambda self: self._column('data'))
    partition_keys = property(lambda self: self._column('partition_keys'))
    sequence_numbers = property(lambda self: self._column('sequence_numbers'))
    shard_ids = property(lambda self: self._column('shard_ids'))
    arrival_ms = property(lambda self: self._column('arrival_ms'))
    sub_sequence_numbers = property(lambda self: self._column('sub_sequence_numbers'))
    explicit_hash_keys = property(lambda self: self._column('explicit_hash_keys'))
    aggregated = property(lambda self: self._column('aggregated'))

    def records(self):
        """The records as a list of Record (built once)."""
        try:
            return self._cache['records']
        except KeyError:
            pass
        value = list(_imap(Record, self.data, self.partition_keys, self.sequence_numbers,
                           self.shard_ids, self.arrival_ms, self.sub_sequence_numbers,
                           self.explicit_hash_keys, self.aggregated))
        self._cache['records'] = value
        return value

    def __iter__(self):
        return iter(self.records())

    def __getitem__(self, index):
        return self.records()[index]

    def close(self):
        """Frees the C batch; columns not read yet are gone (ClosedError)."""
        b, self._batch = self._batch, None
        if b:
            self._lib.cinesis_batch_destroy(b)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self):
        return 'RecordBatch(%d records)' % self._n


class Event(object):
    """A consumer event: ``type`` ("shard_started", "shard_ended", "lease_taken",
    "lease_lost", "error"), ``shard_id``, ``time`` (datetime), ``error`` (KinesisError for
    "error"), ``fatal``."""
    TYPES = {1: 'shard_started', 2: 'shard_ended', 3: 'lease_taken', 4: 'lease_lost',
             5: 'error'}
    __slots__ = ('type', 'shard_id', 'time_ms', 'error', 'fatal')

    def __init__(self, type, shard_id, time_ms, error, fatal):
        self.type = type
        self.shard_id = shard_id
        self.time_ms = time_ms
        self.error = error
        self.fatal = fatal

    @property
    def time(self):
        return from_ms(self.time_ms)

    def __repr__(self):
        return 'Event(%r, shard_id=%r%s)' % (self.type, self.shard_id,
                                             ', error=%r' % (self.error,) if self.error else '')


class _EmptyBatch(RecordBatch):
    """What poll_batch returns once stopped (no C batch behind it)."""
    __slots__ = ()

    def __init__(self):
        self._lib = None
        self._batch = None
        self._cols = None
        self._n = 0
        self._cache = dict((k, []) for k in (
            'data', 'partition_keys', 'sequence_numbers', 'shard_ids', 'arrival_ms',
            'sub_sequence_numbers', 'explicit_hash_keys', 'aggregated', 'records'))

    def _column(self, name):
        return []


_EMPTY = _EmptyBatch()


class _ListBatch(_EmptyBatch):
    """A RecordBatch over Record objects already built (what an abandoned iteration left)."""
    __slots__ = ()

    def __init__(self, records):
        _EmptyBatch.__init__(self)
        self._n = len(records)
        c = self._cache
        c['records'] = list(records)
        for name, attr in (('data', 'data'), ('partition_keys', 'partition_key'),
                           ('sequence_numbers', 'sequence_number'), ('shard_ids', 'shard_id'),
                           ('arrival_ms', 'arrival_ms'),
                           ('sub_sequence_numbers', 'sub_sequence_number'),
                           ('explicit_hash_keys', 'explicit_hash_key'),
                           ('aggregated', 'aggregated')):
            c[name] = [getattr(r, attr) for r in records]

    def _column(self, name):
        return self._cache[name]


class Consumer(object):
    """Reads a stream for an application.

    ``checkpoints``: a Store (MemoryStore, SqliteStore, RedisStore, PostgresStore, a
    PythonStore) or a Checkpointer; None = in memory. ``leases``: a Store shared with the
    other processes of the application (True: the checkpoint store); None = this process
    reads every shard. ``initial_position``: "TRIM_HORIZON", "LATEST" or a datetime
    (AT_TIMESTAMP), used for shards without a checkpoint. ``checkpoint``: "after_batch"
    (default) or "manual". Durations are seconds. ``poll_timeout``: the longest wait of one
    poll inside iteration (also the longest a signal handler waits to run).
    """

    def __init__(self, client, stream, application, checkpoints=None, leases=None,
                 worker_id=None, initial_position='TRIM_HORIZON', checkpoint='after_batch',
                 lease_ttl=None, shard_sync_interval=None, max_records_per_call=None,
                 max_get_records_per_second=None, idle_backoff=None, deaggregate=None,
                 enhanced_fan_out_consumer=None, retry_budget=None, poll_timeout=0.2,
                 options=None):
        self._lib = _lib.load()
        self._client = client
        self.stream = stream
        self.application = application
        if checkpoint not in ('after_batch', 'manual'):
            raise ValueError('checkpoint must be "after_batch" or "manual"')
        self._auto_commit = checkpoint == 'after_batch'
        self._checkpoints = as_store(checkpoints)
        self._leases = self._checkpoints if leases is True else as_store(leases)
        if leases is True and self._checkpoints is None:
            raise ValueError('leases=True needs a checkpoint store')
        values = {'application': application, 'stream': stream, 'worker_id': worker_id,
                  'checkpoint': 'manual',
                  'lease_ttl_ms': seconds_to_ms(lease_ttl),
                  'shard_sync_interval_ms': seconds_to_ms(shard_sync_interval),
                  'max_records_per_call': max_records_per_call,
                  'max_get_records_per_second': max_get_records_per_second,
                  'idle_backoff_ms': seconds_to_ms(idle_backoff), 'deaggregate': deaggregate,
                  'enhanced_fan_out_consumer': enhanced_fan_out_consumer,
                  'retry_budget_ms': seconds_to_ms(retry_budget)}
        if hasattr(initial_position, 'year'):
            values['initial_position'] = 'AT_TIMESTAMP'
            values['initial_timestamp_ms'] = to_ms(initial_position)
        else:
            values['initial_position'] = initial_position
        values.update(options or {})
        cstr(application, 'application')
        cstr(stream, 'stream')
        handle = ctypes.POINTER(_lib.ConsumerH)()
        with Options(values) as opts:
            check(self._lib.cinesis_consumer_new(
                client.handle, opts.handle,
                self._checkpoints.handle if self._checkpoints is not None else None,
                self._leases.handle if self._leases is not None else None,
                ctypes.byref(handle)))
        self._handle = handle
        self.poll_timeout = poll_timeout
        self._state_lock = threading.RLock()
        self._stop_requested = False
        self._in_poll = False
        self._c_stopped = False
        self._uncommitted = False
        # The batch records() is iterating and how many of its records the loop body has
        # returned from (None when poll()/poll_batch() took the last batch).
        self._iter_records = None
        self._handled = 0
        self._events = (_lib.Event * 256)()
        self.last_commit_error = None
        client._adopt(self)

    # -- reading ---------------------------------------------------------------------
    @property
    def worker_id(self):
        return native(self._lib.cinesis_consumer_worker_id(self._live()))

    def _live(self):
        h = self._handle
        if not h:
            raise ClosedError('the consumer is closed')
        return h

    def poll(self, timeout=1.0):
        """The next records (any shards; in order per shard), waiting up to ``timeout``
        seconds: a list of Record, possibly empty. With checkpoint="after_batch" the
        previous batch is committed first. Raises the consumer's fatal error; ClosedError
        once stopped."""
        batch = self.poll_batch(timeout)
        if not len(batch):
            return []
        try:
            return batch.records()
        finally:
            batch.close()

    def poll_batch(self, timeout=1.0):
        """As poll, but the records come as one RecordBatch (columns decoded on access:
        the fast path, e.g. ``for data in consumer.poll_batch().data``)."""
        h = self._live()
        with self._state_lock:
            if self._stop_requested:
                raise ClosedError('the consumer is stopped')
            rest = self._take_remainder()
            if rest is not None:
                return _ListBatch(rest)
            if self._auto_commit and self._uncommitted:
                try:
                    self.commit()
                except KinesisError as e:
                    if not e.retriable:
                        raise
                    # transient (store unreachable, locked): the next poll's commit covers
                    # these records too; until then they are not checkpointed.
                    self.last_commit_error = e
            self._in_poll = True
        batch = ctypes.POINTER(_lib.BatchH)()
        try:
            rc = self._lib.cinesis_consumer_poll(h, seconds_to_ms(timeout), ctypes.byref(batch))
        finally:
            with self._state_lock:
                self._in_poll = False
        if rc != 0:
            if rc == FAILED_PRECONDITION and self._stop_requested:
                return _EMPTY
            check(rc)
        try:
            out = RecordBatch(self._lib, batch)
        except BaseException:
            self._lib.cinesis_batch_destroy(batch)
            raise
        if len(out):
            self._uncommitted = True
        return out

    def commit(self):
        """Checkpoints everything the last poll returned (at-least-once: call it after
        processing them). Inside the loop over the consumer: the records up to and including
        the one being handled."""
        self._commit_through(self._handled + 1)

    def _commit_through(self, n):
        """Within an iteration's batch, the first n records per shard (none when n is 0);
        otherwise, or when n covers the batch, everything the last poll returned."""
        recs = self._iter_records
        if recs is not None and n < len(recs):
            if n:
                self._commit_prefix(recs, n)
            return
        check(self._lib.cinesis_consumer_commit(self._live()))
        self._uncommitted = False
        self._iter_records = None

    def _commit_prefix(self, recs, n):
        """Checkpoints each shard at its last record among recs[:n] (a batch handled in
        part); the batch stays uncommitted as a whole."""
        h = self._live()
        last = {}
        for r in recs[:n]:
            last[r.shard_id] = r
        for shard, r in sorted(last.items()):
            check(self._lib.cinesis_consumer_commit_record(
                h, cstr(shard), cstr(r.sequence_number), r.sub_sequence_number))

    def _take_remainder(self):
        """The records of the batch an abandoned iteration left unhandled (that iteration
        left at the first of them), or None; poll() and poll_batch() return them first."""
        recs, n = self._iter_records, self._handled
        self._iter_records = None
        if recs is None or n >= len(recs):
            return None
        return recs[n:]

    def records(self):
        """Yields records until stop(); see the module doc for when checkpoints are made."""
        try:
            while True:
                if self._stop_requested:
                    break
                recs = self._iter_records
                if recs is None or self._handled >= len(recs):
                    # The previous batch is handled (poll() commits it) or poll() took it.
                    self._iter_records = None
                    try:
                        recs = self.poll(self.poll_timeout)
                    except ClosedError:
                        if self._stop_requested:
                            break
                        raise
                    self._iter_records, self._handled = recs, 0
                # else: an earlier iteration left this batch at self._handled; go on there.
                while self._handled < len(recs):
                    if self._stop_requested:
                        break
                    yield recs[self._handled]
                    self._handled += 1
        finally:
            if self._stop_requested:
                self._finish_stop()

    __iter__ = records

    def __aiter__(self):
        from ._aio import AsyncRecords
        return AsyncRecords(self)

    def events(self, max_events=256):
        """The events queued since the last call (never waits): a list of Event."""
        count = ctypes.c_size_t(0)
        check(self._lib.cinesis_consumer_events(self._live(), self._events,
                                                min(max_events, 256), ctypes.byref(count)))
        out = []
        for i in range(count.value):
            e = self._events[i]
            err = None
            if e.type == 5:
                err = error_from_code(e.err, (e.message or b'').decode('utf-8', 'replace'))
            out.append(Event(Event.TYPES.get(e.type, str(e.type)), native(e.shard_id) or None,
                             e.time_ms, err, bool(e.fatal)))
        return out

    def metrics(self):
        m = _lib.ConsumerMetrics()
        check(self._lib.cinesis_consumer_metrics(self._live(), ctypes.byref(m)))
        return dict((name, getattr(m, name)) for name, _ in m._fields_)

    # -- stopping ----------------------------------------------------------------------
    def stop(self):
        """Makes the iteration return after the record being handled. Safe from any thread
        and from a signal handler; returns at once. What the iteration handled is
        checkpointed (per shard, up to its last handled record); the rest is delivered
        again after a restart (at-least-once). Leases are released."""
        call_c = False
        with self._state_lock:
            self._stop_requested = True
            if self._in_poll:
                call_c = True  # the previous batch is committed; wake the poll now
        if call_c:
            self._c_stop()

    def _c_stop(self):
        with self._state_lock:
            if self._c_stopped or not self._handle:
                return
            self._c_stopped = True
        check(self._lib.cinesis_consumer_stop(self._handle))

    def _finish_stop(self):
        with self._state_lock:
            if self._c_stopped or not self._handle:
                return
            if self._uncommitted:
                try:
                    self._commit_through(self._handled)
                except KinesisError:
                    pass  # delivered again after a restart: at-least-once
                self._uncommitted = False
                self._iter_records = None
        self._c_stop()

    @property
    def stopped(self):
        return self._stop_requested

    def close(self):
        """Stops (checkpointing what was handled: the last poll's records, or within an
        iteration left in the middle of a batch the records handled) and frees it."""
        if not self._handle:
            return
        self._stop_requested = True
        try:
            self._finish_stop()
        finally:
            h, self._handle = self._handle, None
            if h:
                self._lib.cinesis_consumer_destroy(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            h, self._handle = self._handle, None
            if h:
                self._lib.cinesis_consumer_destroy(h)
        except Exception:
            pass
