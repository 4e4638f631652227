"""Producer: batching, rate limiting, retries and aggregation happen in C++ (libcinesis);
each record's final result comes back exactly once as a delivery report, surfaced here as a
DeliveryFuture, a callback, or both.

Delivery reports are collected by whichever thread asks for them: ``poll()``, ``flush()``,
``close()``, ``DeliveryFuture.result()``/``exception()``, and every 1,024 ``put`` calls (a
non-blocking poll). Callbacks run in that thread. No background Python thread is started.

``put_many`` (the fast path) hands a list of records to C++ in one call and returns one
BatchFuture for them: only failed records are reported one by one, plus one summary per call.

A failure nobody observed (no callback, no result()/exception() on its future) is never
dropped: ``flush()`` and ``close()`` raise DeliveryError listing those records.
"""

import binascii
import bisect
import ctypes
import os
import struct
import threading
import time
import uuid

from . import _lib
from ._util import PY2, Options, check, cstr, data_bytes, native, seconds_to_ms
from .errors import KinesisError, ClosedError, error_from_code

_POLL_SLICE = 0.1  # seconds: the longest single wait inside the C poll
_REPORTS = 1024


class Delivery(object):
    """The final result of one record: ``ok``, ``error`` (a KinesisError or None),
    ``shard_id``, ``sequence_number``, ``sub_sequence_number``, ``attempts``, and the
    record's ``partition_key`` and ``user_data`` (what was passed to put as user_data)."""
    __slots__ = ('error', 'shard_id', 'sequence_number', 'sub_sequence_number', 'attempts',
                 'partition_key', 'user_data')

    def __init__(self, error, shard_id, sequence_number, sub_sequence_number, attempts,
                 partition_key, user_data):
        self.error = error
        self.shard_id = shard_id
        self.sequence_number = sequence_number
        self.sub_sequence_number = sub_sequence_number
        self.attempts = attempts
        self.partition_key = partition_key
        self.user_data = user_data

    @property
    def ok(self):
        return self.error is None

    def __repr__(self):
        if self.error is None:
            return 'Delivery(shard_id=%r, sequence_number=%r)' % (self.shard_id,
                                                                  self.sequence_number)
        return 'Delivery(error=%r)' % (self.error,)


class DeliveryError(KinesisError):
    """Records failed and nobody observed their failure (``failures``: Delivery list)."""
    name = 'DeliveryFailed'

    def __init__(self, failures):
        self.failures = failures
        first = failures[0].error
        KinesisError.__init__(self, '%d record(s) failed; first: %s' % (len(failures), first))


class DeliveryFuture(object):
    """The future result of one put. ``result(timeout)`` returns the Delivery or raises the
    record's error; waiting polls the producer (no other thread needed)."""
    __slots__ = ('_producer', '_delivery', '_callbacks', '_observed')

    def __init__(self, producer):
        self._producer = producer
        self._delivery = None
        self._callbacks = None
        self._observed = False

    def done(self):
        return self._delivery is not None

    def _wait(self, timeout):
        self._observed = True
        if self._delivery is None:
            deadline = None if timeout is None else time.time() + timeout
            while self._delivery is None:
                left = None if deadline is None else deadline - time.time()
                if left is not None and left <= 0:
                    from .errors import DeadlineExceededError
                    raise DeadlineExceededError('the delivery report did not arrive within '
                                                '%.3f s' % timeout)
                self._producer._poll_once(_POLL_SLICE if left is None else min(left,
                                                                                _POLL_SLICE))
        return self._delivery

    def result(self, timeout=None):
        d = self._wait(timeout)
        if d.error is not None:
            raise d.error
        return d

    def exception(self, timeout=None):
        return self._wait(timeout).error

    def add_done_callback(self, fn):
        """fn(future), called at once when done, else by the thread that polls the report."""
        self._observed = True
        if self._delivery is not None:
            fn(self)
        else:
            if self._callbacks is None:
                self._callbacks = []
            self._callbacks.append(fn)


class BatchFuture(object):
    """The future result of one ``put_many`` call (one object for the whole batch, no
    per-record future). ``result(timeout)`` returns the number of records stored, or raises
    DeliveryError whose ``failures`` are the failed records' Delivery objects (their
    ``user_data`` is the record's index in the call). ``failures`` (list) and ``records``
    (count) are there once done. Waiting polls the producer (no other thread needed)."""
    __slots__ = ('_producer', 'records', 'failures', '_keys', '_expected_failures',
                 '_summarized', '_done', '_callbacks', '_observed')

    def __init__(self, producer, records, keys):
        self._producer = producer
        self.records = records
        self.failures = []
        self._keys = keys  # a list (one per record) or one key: for the failures' Delivery
        self._expected_failures = None  # from the summary
        self._summarized = False
        self._done = False
        self._callbacks = None
        self._observed = False

    def done(self):
        return self._done

    def _wait(self, timeout):
        self._observed = True
        if not self._done:
            deadline = None if timeout is None else time.time() + timeout
            while not self._done:
                left = None if deadline is None else deadline - time.time()
                if left is not None and left <= 0:
                    from .errors import DeadlineExceededError
                    raise DeadlineExceededError('the batch\'s results did not arrive within '
                                                '%.3f s' % timeout)
                self._producer._poll_once(_POLL_SLICE if left is None else min(left,
                                                                                _POLL_SLICE))
        return self.failures

    def result(self, timeout=None):
        failures = self._wait(timeout)
        if failures:
            raise DeliveryError(failures)
        return self.records - len(failures)

    def exception(self, timeout=None):
        failures = self._wait(timeout)
        return DeliveryError(failures) if failures else None

    def add_done_callback(self, fn):
        """fn(batch_future), called at once when done, else by the thread that polls."""
        self._observed = True
        if self._done:
            fn(self)
        else:
            if self._callbacks is None:
                self._callbacks = []
            self._callbacks.append(fn)

    def _key(self, index):
        k = self._keys
        return k[index] if isinstance(k, list) else k

    def __repr__(self):
        return 'BatchFuture(records=%d, done=%r, failed=%d)' % (self.records, self._done,
                                                                len(self.failures))


def _u32_array(values, n):
    """The uint32_t array of `values` (n ints) as bytes."""
    return struct.pack('=%dI' % n, *values)


class Producer(object):
    """Puts records to a stream through libcinesis's Producer.

    Arguments (durations in seconds; None = the library's default): ``linger``,
    ``max_batch_records``, ``max_batch_bytes``, ``buffer_bytes``, ``overflow`` ("block":
    put waits for buffer space, "fail": put raises LimitExceededException), ``record_ttl``,
    ``shard_records_per_second``, ``shard_bytes_per_second`` (float('inf') disables),
    ``aggregate`` (KPL aggregation), ``strict_key_order``, ``max_in_flight``,
    ``on_delivery`` (a callback(Delivery) for every record), ``options`` (raw
    libcinesis producer options).
    """

    def __init__(self, client, stream, linger=None, max_batch_records=None,
                 max_batch_bytes=None, buffer_bytes=None, overflow=None, record_ttl=None,
                 shard_records_per_second=None, shard_bytes_per_second=None, aggregate=None,
                 strict_key_order=None, max_in_flight=None, on_delivery=None, options=None):
        self._lib = _lib.load()
        self._client = client
        self.stream = stream
        values = {
            'stream': stream, 'linger_ms': seconds_to_ms(linger),
            'max_batch_records': max_batch_records, 'max_batch_bytes': max_batch_bytes,
            'buffer_bytes': buffer_bytes, 'overflow': overflow,
            'record_ttl_ms': seconds_to_ms(record_ttl),
            'shard_records_per_second': shard_records_per_second,
            'shard_bytes_per_second': shard_bytes_per_second, 'aggregate': aggregate,
            'strict_key_order': strict_key_order, 'max_in_flight': max_in_flight,
        }
        values.update(options or {})
        handle = ctypes.POINTER(_lib.ProducerH)()
        cstr(stream, 'stream')
        with Options(values) as opts:
            check(self._lib.cinesis_producer_new(client.handle, opts.handle,
                                                 ctypes.byref(handle)))
        self._handle = handle
        self._on_delivery = on_delivery
        self._pending = {}  # opaque -> (future, callback, partition_key, user_data)
        self._batches = {}  # put_many's first opaque -> BatchFuture
        self._batch_starts = []  # sorted first opaques of self._batches
        self._next_id = 1
        self._id_lock = threading.Lock()
        self._poll_lock = threading.Lock()
        self._reports = (_lib.Delivery * _REPORTS)()
        self._summaries = (_lib.PutSummary * _REPORTS)()
        self._puts = 0
        self._unobserved_failures = []
        self._closed = False
        client._adopt(self)

    # -- putting ---------------------------------------------------------------------
    def _alloc_ids(self, n):
        """The first of n consecutive opaque ids (delivery reports name records by them)."""
        with self._id_lock:
            first = self._next_id
            self._next_id += n
        return first

    def _handle_or_raise(self):
        h = self._handle
        if not h or self._closed:
            raise ClosedError('the producer is closed')
        return h

    def put(self, data, partition_key=None, explicit_hash_key=None, callback=None,
            user_data=None):
        """Accepts one record; returns its DeliveryFuture. ``partition_key`` defaults to a
        random one (uuid4). ``callback(Delivery)`` runs when the result is known.
        Raises at once (no report follows) when the producer is closed (ClosedError), the
        record is invalid (InvalidArgumentException/TypeError) or, with overflow="fail",
        the buffer is full (LimitExceededException)."""
        h = self._handle_or_raise()
        payload = data_bytes(data)
        if partition_key is None:
            partition_key = uuid.uuid4().hex
        rec = _lib.RecordIn(cstr(partition_key, 'partition_key'), payload, len(payload),
                            cstr(explicit_hash_key, 'explicit_hash_key'), 0)
        opaque = self._alloc_ids(1)
        rec.opaque = opaque
        fut = DeliveryFuture(self)
        self._pending[opaque] = (fut, callback, partition_key, user_data)
        rc = self._lib.cinesis_producer_put(h, ctypes.byref(rec))
        if rc != 0:
            del self._pending[opaque]
            check(rc)
        self._puts += 1
        if self._puts % _REPORTS == 0:
            self.poll(0)
        return fut

    def put_batch(self, records, callback=None):
        """Accepts many records in order: each a bytes value, a (data, partition_key)
        tuple, or a dict with data/partition_key/explicit_hash_key/user_data. Returns the
        list of DeliveryFutures; raises at the first record not accepted (the futures of
        those accepted before it are attached to the exception as ``accepted``)."""
        h = self._handle_or_raise()
        items = []
        for r in records:
            if isinstance(r, dict):
                items.append((data_bytes(r['data']), r.get('partition_key'),
                              r.get('explicit_hash_key'), r.get('user_data')))
            elif isinstance(r, tuple):
                items.append((data_bytes(r[0]), r[1] if len(r) > 1 else None,
                              r[2] if len(r) > 2 else None, None))
            else:
                items.append((data_bytes(r), None, None, None))
        n = len(items)
        futs = []
        inits = []
        pending = self._pending
        opaque = self._alloc_ids(n) - 1
        for payload, key, ehk, user_data in items:
            if key is None:
                key = uuid.uuid4().hex
            opaque += 1
            inits.append((cstr(key, 'partition_key'), payload, len(payload),
                          cstr(ehk, 'explicit_hash_key') if ehk is not None else None, opaque))
            fut = DeliveryFuture(self)
            pending[opaque] = (fut, callback, key, user_data)
            futs.append((opaque, fut))
        # One constructor call fills the whole array (much cheaper than per-field setattr).
        arr = (_lib.RecordIn * max(n, 1))(*inits)
        accepted = ctypes.c_size_t(0)
        rc = self._lib.cinesis_producer_put_batch(h, arr, n, ctypes.byref(accepted))
        if rc != 0:
            for opaque, _ in futs[accepted.value:]:
                self._pending.pop(opaque, None)
            try:
                check(rc)
            except KinesisError as e:
                e.accepted = [f for _, f in futs[:accepted.value]]
                raise
        self._puts += n
        self.poll(0)
        return [f for _, f in futs]

    def put_many(self, data, partition_keys=None, partition_key=None, callback=None):
        """The fast path: accepts every record of ``data`` (a list of bytes) in one C call
        and returns ONE BatchFuture for them (no per-record future or report; a record
        that fails is reported, see BatchFuture). Keys: ``partition_keys`` (a list, one per
        record), else ``partition_key`` (one key for all), else a random key per record.
        No explicit hash keys (use put_batch). ``callback(batch_future)`` runs when every
        record has its result. Raises at the first record not accepted (closed producer,
        invalid record, full buffer under overflow="fail"); the exception's ``accepted``
        is the number accepted before it, and ``batch`` their BatchFuture (or None)."""
        h = self._handle_or_raise()
        if not isinstance(data, list):
            data = list(data)
        n = len(data)
        try:
            joined = b''.join(data)
            lens = list(map(len, data))
        except (TypeError, UnicodeError):  # text among them
            joined = None
        if joined is None or not isinstance(joined, bytes) or sum(lens) != len(joined):
            # text (encoded as UTF-8), or views whose len() is not their size in bytes
            data = [data_bytes(d) for d in data]
            joined = b''.join(data)
            lens = list(map(len, data))
        data_lens = _u32_array(lens, n)
        if partition_keys is not None:
            if not isinstance(partition_keys, list):
                partition_keys = list(partition_keys)
            if len(partition_keys) != n:
                raise ValueError('partition_keys has %d keys for %d records'
                                 % (len(partition_keys), n))
            keys_arg = None
            text = None
            if n and not PY2:
                try:
                    text = ''.join(partition_keys)  # TypeError unless every key is a str
                except TypeError:
                    pass
            if text is not None:
                keys_arg = text.encode('utf-8')
                if len(keys_arg) != len(text):  # not ASCII: lengths in bytes per key
                    encoded = [k.encode('utf-8') for k in partition_keys]
                    key_lens = _u32_array(map(len, encoded), n)
                else:
                    key_lens = _u32_array(map(len, partition_keys), n)
            if keys_arg is None:
                encoded = [cstr(k, 'partition_key') for k in partition_keys]
                keys_arg = b''.join(encoded)
                key_lens = _u32_array(map(len, encoded), n)
            if b'\0' in keys_arg:
                raise ValueError('partition_key must not contain a NUL character')
            keys_for_report = partition_keys
        elif partition_key is not None:
            keys_arg = cstr(partition_key, 'partition_key')
            key_lens = None
            keys_for_report = partition_key
        else:
            keys_arg = binascii.hexlify(os.urandom(16 * n))
            key_lens = _u32_array([32] * n, n)
            hexed = keys_arg if PY2 else keys_arg.decode('ascii')
            keys_for_report = [hexed[i:i + 32] for i in range(0, 32 * n, 32)]
        first = self._alloc_ids(max(n, 1))
        fut = BatchFuture(self, n, keys_for_report)
        if callback is not None:
            fut.add_done_callback(callback)
        with self._poll_lock:  # registered before any report of it can be polled
            self._batches[first] = fut
            self._batch_starts.append(first)  # ids only grow: stays sorted
        accepted = ctypes.c_size_t(0)
        rc = self._lib.cinesis_producer_put_packed(h, joined, data_lens, keys_arg, key_lens, n,
                                                   first, ctypes.byref(accepted))
        if rc != 0 or n == 0:
            if accepted.value == 0:
                with self._poll_lock:
                    self._forget_batch(first)
                fut = None
            else:
                fut.records = accepted.value
        if rc != 0:
            try:
                check(rc)
            except KinesisError as e:
                e.accepted = accepted.value
                e.batch = fut
                raise
        self._puts += n
        if fut is None:  # an empty call: nothing to wait for
            fut = BatchFuture(self, 0, None)
            fut._done = True
        return fut

    def _forget_batch(self, first):
        self._batches.pop(first, None)
        i = bisect.bisect_left(self._batch_starts, first)
        if i < len(self._batch_starts) and self._batch_starts[i] == first:
            del self._batch_starts[i]

    # -- delivery reports -----------------------------------------------------------
    def _poll_once(self, timeout):
        """One C poll (up to timeout seconds); resolves the reports. Returns how many
        records or batches were resolved."""
        h = self._handle
        if not h:
            return 0
        count = ctypes.c_size_t(0)
        resolved = []
        finished = []
        with self._poll_lock:
            if not self._handle:
                return 0
            summaries = []
            report_wait = timeout
            if self._batches:
                # Summaries first: every failure of a summarized batch is queued before its
                # summary, so the reports drained next include them (see cinesis.h).
                check(self._lib.cinesis_producer_poll_summaries(
                    h, self._summaries, _REPORTS, 0 if self._pending else seconds_to_ms(timeout),
                    ctypes.byref(count)))
                summaries = [(s.first_opaque, s.records, s.failed)
                             for s in self._summaries[:count.value]]
                # Both kinds pending: wait for reports in short slices, so that a summary
                # is not kept waiting long.
                report_wait = 0 if summaries or not self._pending else min(timeout, 0.01)
            check(self._lib.cinesis_producer_poll(h, self._reports, _REPORTS,
                                                  seconds_to_ms(report_wait),
                                                  ctypes.byref(count)))
            for i in range(count.value):
                r = self._reports[i]
                entry = self._pending.pop(r.opaque, None)
                batch = None
                if entry is None:
                    batch = self._batch_of(r.opaque)
                    if batch is None:
                        continue
                err = None
                if r.err != 0:
                    err = error_from_code(r.err, (r.error_message or b'').decode('utf-8',
                                                                                  'replace'))
                if batch is not None:
                    index = r.opaque - batch[0]
                    d = Delivery(err, native(r.shard_id) or None,
                                 native(r.sequence_number) or None, r.sub_sequence_number,
                                 r.attempts, batch[1]._key(index), index)
                    batch[1].failures.append(d)
                    if batch[1]._summarized and \
                            len(batch[1].failures) >= batch[1]._expected_failures:
                        finished.append(batch[1])
                        self._forget_batch(batch[0])
                    continue
                d = Delivery(err, native(r.shard_id) or None, native(r.sequence_number) or None,
                             r.sub_sequence_number, r.attempts, entry[2], entry[3])
                resolved.append((entry, d))
            for first, records, failed in summaries:
                fut = self._batches.get(first)
                if fut is None:
                    continue
                fut._summarized = True
                fut._expected_failures = failed
                fut.records = records
                if len(fut.failures) >= failed:  # else: the rest follow in the next poll
                    finished.append(fut)
                    self._forget_batch(first)
        for fut in finished:
            fut._done = True
            if fut._callbacks:
                for fn in fut._callbacks:
                    fn(fut)
            if fut.failures and not fut._observed:
                for d in fut.failures:
                    self._unobserved_failures.append((fut, d))
        for (fut, callback, _, _), d in resolved:
            fut._delivery = d
            handled = fut._observed
            if callback is not None:
                handled = True
                callback(d)
            if self._on_delivery is not None:
                handled = True
                self._on_delivery(d)
            if fut._callbacks:
                for fn in fut._callbacks:
                    fn(fut)
            if d.error is not None and not handled:
                self._unobserved_failures.append((fut, d))
        return len(resolved) + len(finished)

    def _batch_of(self, opaque):
        """(first opaque, BatchFuture) of the put_many call that gave `opaque`, or None."""
        i = bisect.bisect_right(self._batch_starts, opaque) - 1
        if i < 0:
            return None
        first = self._batch_starts[i]
        fut = self._batches.get(first)
        if fut is None or opaque >= first + max(fut.records, 1):
            return None
        return first, fut

    def poll(self, timeout=0):
        """Resolves every delivery report available now, waiting up to ``timeout`` seconds
        (None: until at least one) for the first. Returns how many were resolved."""
        total = self._poll_once(0)
        if total or timeout == 0:
            while total and self._poll_once(0):
                pass
            return total
        deadline = None if timeout is None else time.time() + timeout
        while not total:
            left = _POLL_SLICE if deadline is None else min(_POLL_SLICE,
                                                             deadline - time.time())
            if left <= 0:
                break
            total += self._poll_once(left)
        while self._poll_once(0):
            pass
        return total

    def _raise_unobserved(self):
        failures = [d for fut, d in self._unobserved_failures if not fut._observed]
        self._unobserved_failures = []
        if failures:
            raise DeliveryError(failures)

    def flush(self, timeout=60):
        """Sends everything buffered and waits until every record put before the call has
        its result (DeadlineExceededError after ``timeout`` seconds); resolves their
        futures and runs their callbacks. Raises DeliveryError for failures nobody
        observed."""
        h = self._handle_or_raise()
        deadline = time.time() + timeout
        mark = self._alloc_ids(1)
        check(self._lib.cinesis_producer_flush(h, seconds_to_ms(timeout)))
        while any(k < mark for k in list(self._pending)) or \
                (self._batch_starts and self._batch_starts[0] < mark):
            left = deadline - time.time()
            if left <= 0:
                from .errors import DeadlineExceededError
                raise DeadlineExceededError('delivery reports missing after flush')
            self._poll_once(min(left, _POLL_SLICE))
        self._raise_unobserved()

    def close(self, timeout=60):
        """Flushes (up to ``timeout`` seconds), then stops: records still pending complete
        with an error. Later puts raise ClosedError. Idempotent. Raises DeliveryError for
        failures nobody observed."""
        if self._closed or not self._handle:
            return
        self._closed = True
        rc = self._lib.cinesis_producer_close(self._handle, seconds_to_ms(timeout))
        # Every record now has its report: resolve them all.
        deadline = time.time() + max(timeout, 1)
        while (self._pending or self._batches) and time.time() < deadline:
            self._poll_once(_POLL_SLICE)
        self._destroy()
        check(rc)
        self._raise_unobserved()

    def _destroy(self):
        with self._poll_lock:
            h, self._handle = self._handle, None
        if h:
            self._lib.cinesis_producer_destroy(h)

    @property
    def closed(self):
        return self._closed

    def metrics(self):
        """A dict: records_put, records_failed, retries, put_records_calls,
        buffered_records, buffered_bytes, pending_reports."""
        m = _lib.ProducerMetrics()
        check(self._lib.cinesis_producer_metrics(self._handle_or_raise(), ctypes.byref(m)))
        return dict((name, getattr(m, name)) for name, _ in m._fields_)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            try:
                self.close()
            except Exception:
                pass  # the exception already propagating is the one to see

    def __del__(self):
        try:
            if getattr(self, '_handle', None):
                self._closed = True
                self._destroy()
        except Exception:
            pass

