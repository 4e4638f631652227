"""Producer: batching, rate limiting, retries and aggregation happen in C++ (libcinesis);
each record's final result comes back exactly once as a delivery report, surfaced here as a
DeliveryFuture, a callback, or both.

Delivery reports are collected by whichever thread asks for them: ``poll()``, ``flush()``,
``close()``, ``DeliveryFuture.result()``/``exception()``, and every 1,024 ``put`` calls (a
non-blocking poll). Callbacks run in that thread. No background Python thread is started.

A failure nobody observed (no callback, no result()/exception() on its future) is never
dropped: ``flush()`` and ``close()`` raise DeliveryError listing those records.
"""

import ctypes
import itertools
import threading
import time
import uuid

from . import _lib
from ._util import Options, check, cstr, data_bytes, native, seconds_to_ms
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
        self._ids = itertools.count(1)
        self._poll_lock = threading.Lock()
        self._reports = (_lib.Delivery * _REPORTS)()
        self._puts = 0
        self._unobserved_failures = []
        self._closed = False
        client._adopt(self)

    # -- putting ---------------------------------------------------------------------
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
        opaque = next(self._ids)
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
        ids = self._ids
        for payload, key, ehk, user_data in items:
            if key is None:
                key = uuid.uuid4().hex
            opaque = next(ids)
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

    # -- delivery reports -----------------------------------------------------------
    def _poll_once(self, timeout):
        """One C poll (up to timeout seconds); resolves the reports. Returns how many."""
        h = self._handle
        if not h:
            return 0
        count = ctypes.c_size_t(0)
        resolved = []
        with self._poll_lock:
            if not self._handle:
                return 0
            check(self._lib.cinesis_producer_poll(h, self._reports, _REPORTS,
                                                  seconds_to_ms(timeout), ctypes.byref(count)))
            for i in range(count.value):
                r = self._reports[i]
                entry = self._pending.pop(r.opaque, None)
                if entry is None:
                    continue
                err = None
                if r.err != 0:
                    err = error_from_code(r.err, (r.error_message or b'').decode('utf-8',
                                                                                  'replace'))
                d = Delivery(err, native(r.shard_id) or None, native(r.sequence_number) or None,
                             r.sub_sequence_number, r.attempts, entry[2], entry[3])
                resolved.append((entry, d))
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
        return len(resolved)

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
        mark = next(self._ids)
        check(self._lib.cinesis_producer_flush(h, seconds_to_ms(timeout)))
        while any(k < mark for k in list(self._pending)):
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
        while self._pending and time.time() < deadline:
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

