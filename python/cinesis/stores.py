"""Checkpoint and lease stores.

- MemoryStore, SqliteStore, RedisStore, PostgresStore: libcinesis's C++ stores.
- PythonStore: a store written in Python, handed to libcinesis through the callbacks table
  (cinesis_store_new_custom). The base class is a complete in-memory implementation of the
  rules of docs/client.md ("Checkpoint and lease stores": TryAcquire, Renew, Release,
  SaveIfOwner with fencing, DeleteExpired); subclasses override what they keep elsewhere
  (the Django store keeps everything in the database).
- Checkpointer: pynesis's three-method interface (checkpoint, get_checkpoint,
  get_all_checkpoints). Any subclass can be passed to a Consumer as its checkpoint store;
  cinesis wraps it in a CheckpointerStore (leases, when used, stay in process).
"""

import ctypes
import itertools
import threading
import traceback

from . import _lib
from ._util import PY2, check, cstr, native, take_string
from .errors import KinesisError

try:
    import queue as _queue
except ImportError:  # Python 2.7
    import Queue as _queue  # noqa: N813

IO = 40
INTERNAL = 4
INVALID = 5
UNKNOWN = 44


class Lease(object):
    """A lease row: shard_id, owner ("" when free), counter (fencing token),
    expires_at_ms."""
    __slots__ = ('shard_id', 'owner', 'counter', 'expires_at_ms')

    def __init__(self, shard_id, owner, counter, expires_at_ms):
        self.shard_id = shard_id
        self.owner = owner
        self.counter = counter
        self.expires_at_ms = expires_at_ms

    def __eq__(self, other):
        return isinstance(other, Lease) and self._t() == other._t()

    def __ne__(self, other):
        return not self == other

    def _t(self):
        return (self.shard_id, self.owner, self.counter, self.expires_at_ms)

    def __repr__(self):
        return 'Lease(%r, %r, %r, %r)' % self._t()


class Store(object):
    """A store handle (checkpoints and leases on one backend)."""
    _handle = None

    @property
    def handle(self):
        if not self._handle:
            from .errors import ClosedError
            raise ClosedError('the store is closed')
        return self._handle

    def save_checkpoint(self, application, stream, shard_id, sequence_number,
                        sub_sequence_number=0):
        """Writes a checkpoint directly (tools, tests, migrations), through libcinesis."""
        scope = _lib.Scope(cstr(application, 'application'), cstr(stream, 'stream'))
        check(_lib.load().cinesis_store_save(self.handle, ctypes.byref(scope),
                                             cstr(shard_id, 'shard_id'),
                                             cstr(sequence_number, 'sequence_number'),
                                             int(sub_sequence_number)))

    def load_checkpoint(self, application, stream, shard_id):
        """(sequence_number, sub_sequence_number), or None when the shard has none."""
        scope = _lib.Scope(cstr(application, 'application'), cstr(stream, 'stream'))
        out = ctypes.c_void_p()
        sub = ctypes.c_uint64(0)
        check(_lib.load().cinesis_store_load(self.handle, ctypes.byref(scope),
                                             cstr(shard_id, 'shard_id'), ctypes.byref(out),
                                             ctypes.byref(sub)))
        seq = take_string(out)
        if seq is None:
            return None
        return native(seq), sub.value

    # C stores: save/load are the same; a PythonStore overrides them (its callbacks).
    save = save_checkpoint
    load = load_checkpoint

    def close(self):
        h, self._handle = self._handle, None
        if h:
            _lib.load().cinesis_store_destroy(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def _open(fn, *args):
    h = ctypes.POINTER(_lib.StoreH)()
    check(fn(*(args + (ctypes.byref(h),))))
    return h


class MemoryStore(Store):
    """In memory: shared by the threads (consumers) of this process."""

    def __init__(self):
        self._handle = _open(_lib.load().cinesis_store_open_memory)


class SqliteStore(Store):
    """A SQLite file (created with its tables if missing): shared by the processes of a
    host."""

    def __init__(self, path):
        self.path = path
        self._handle = _open(_lib.load().cinesis_store_open_sqlite, cstr(path, 'path'))


class RedisStore(Store):
    """Redis at host:port, database db."""

    def __init__(self, host='127.0.0.1', port=6379, db=0):
        self._handle = _open(_lib.load().cinesis_store_open_redis, cstr(host, 'host'),
                             int(port), int(db))


class PostgresStore(Store):
    """PostgreSQL through a libpq connection string ("host=... dbname=..." or a
    postgresql:// URI); creates the schema if missing."""

    def __init__(self, conninfo):
        self._handle = _open(_lib.load().cinesis_store_open_postgres,
                             cstr(conninfo, 'conninfo'))


# -- stores written in Python ------------------------------------------------------------

_registry = {}
_registry_ids = itertools.count(1)
_registry_lock = threading.Lock()


def _write_err(buf, size, message):
    if not buf or size == 0:
        return
    data = message.encode('utf-8', 'replace') if not isinstance(message, bytes) else message
    data = data[:size - 1]
    ctypes.memmove(buf, data + b'\0', len(data) + 1)


def _s(value):
    return native(value) if value is not None else None


def _lease_from(ptr):
    lease = ptr.contents
    return Lease(_s(lease.shard_id), _s(lease.owner) or '', lease.counter, lease.expires_at_ms)


class PythonStore(Store):
    """A checkpoint and lease store written in Python.

    Override any of: ``save(scope, shard_id, seq, sub)``, ``save_if_owner(scope, lease,
    seq, sub, now_ms) -> bool``, ``load(scope, shard_id) -> (seq, sub) | None``,
    ``load_all(scope) -> {shard_id: (seq, sub)}``, ``try_acquire(scope, shard_id, owner,
    ttl_ms, now_ms) -> Lease | None``, ``renew(scope, lease, ttl_ms, now_ms) -> bool``,
    ``release(scope, lease)``, ``list_leases(scope) -> [Lease]``, ``delete_expired(scope,
    prefix, now_ms) -> int``. ``scope`` is an (application, stream) tuple. The base class
    keeps everything in memory under one lock (which is what makes save_if_owner atomic
    with try_acquire; an override must keep that guarantee, e.g. with a transaction).

    Exceptions: a KinesisError keeps its code; an exception in ``transient_exceptions``
    (default: EnvironmentError) is reported as IOError (retried by the consumer); any other
    is fatal (the consumer stops with it).

    ``serialize=True`` runs every callback on one Python thread of the store's own (needed
    when the implementation relies on per-thread state, e.g. Django's DB connections).
    """
    transient_exceptions = (EnvironmentError,)

    def __init__(self, serialize=False):
        self._mem_lock = threading.RLock()
        self._checkpoints = {}
        self._leases = {}
        self._serialize = serialize
        self._queue = None
        self._worker = None
        if serialize:
            self._queue = _queue.Queue()
            self._worker = threading.Thread(target=self._work, name='cinesis-store')
            self._worker.daemon = True
            self._worker.start()
        self._build_handle()

    # -- in-memory reference implementation ----------------------------------------
    def save(self, scope, shard_id, sequence_number, sub_sequence_number):
        with self._mem_lock:
            self._checkpoints[(scope, shard_id)] = (sequence_number, sub_sequence_number)

    def save_if_owner(self, scope, lease, sequence_number, sub_sequence_number, now_ms):
        with self._mem_lock:
            row = self._leases.get((scope, lease.shard_id))
            if (not lease.owner or row is None or row.owner != lease.owner
                    or row.counter != lease.counter or row.expires_at_ms <= now_ms):
                return False
            self.save(scope, lease.shard_id, sequence_number, sub_sequence_number)
            return True

    def load(self, scope, shard_id):
        with self._mem_lock:
            return self._checkpoints.get((scope, shard_id))

    def load_all(self, scope):
        with self._mem_lock:
            return dict((k[1], v) for k, v in self._checkpoints.items() if k[0] == scope)

    def try_acquire(self, scope, shard_id, owner, ttl_ms, now_ms):
        with self._mem_lock:
            row = self._leases.get((scope, shard_id))
            if row is None:
                new = Lease(shard_id, owner, 1, now_ms + ttl_ms)
            elif row.owner == owner:
                new = Lease(shard_id, owner, row.counter, now_ms + ttl_ms)
            elif not row.owner or row.expires_at_ms <= now_ms:
                new = Lease(shard_id, owner, row.counter + 1, now_ms + ttl_ms)
            else:
                return None
            self._leases[(scope, shard_id)] = new
            return Lease(*new._t())

    def renew(self, scope, lease, ttl_ms, now_ms):
        with self._mem_lock:
            row = self._leases.get((scope, lease.shard_id))
            if (not lease.owner or row is None or row.owner != lease.owner
                    or row.counter != lease.counter):
                return False
            row.expires_at_ms = now_ms + ttl_ms
            return True

    def release(self, scope, lease):
        with self._mem_lock:
            row = self._leases.get((scope, lease.shard_id))
            if lease.owner and row is not None and row.owner == lease.owner and \
                    row.counter == lease.counter:
                row.owner = ''
                row.expires_at_ms = 0

    def list_leases(self, scope):
        with self._mem_lock:
            rows = [Lease(*v._t()) for k, v in self._leases.items() if k[0] == scope]
        return sorted(rows, key=lambda l: l.shard_id.encode('utf-8') if not PY2 else
                      l.shard_id)

    def delete_expired(self, scope, prefix, now_ms):
        if not prefix:
            from .errors import InvalidArgumentException
            raise InvalidArgumentException('prefix must not be empty')
        with self._mem_lock:
            gone = [k for k, v in self._leases.items()
                    if k[0] == scope and v.shard_id.startswith(prefix)
                    and (not v.owner or v.expires_at_ms <= now_ms)]
            for k in gone:
                del self._leases[k]
            return len(gone)

    def on_destroy(self):
        """Called once when libcinesis frees the store (no callback runs after it)."""

    # -- the C side -------------------------------------------------------------------
    def _work(self):
        while True:
            item = self._queue.get()
            if item is None:
                return
            fn, args, box, done = item
            try:
                box.append((True, fn(*args)))
            except BaseException as e:  # noqa: B902 - carried back to the calling thread
                box.append((False, e))
            done.set()

    def _run(self, fn, *args):
        if not self._serialize or threading.current_thread() is self._worker:
            return fn(*args)
        box = []
        done = threading.Event()
        self._queue.put((fn, args, box, done))
        done.wait()
        ok, value = box[0]
        if not ok:
            raise value
        return value

    def _guard(self, err, err_size, fn, *args):
        try:
            self._run(fn, *args)
            return 0
        except KinesisError as e:
            _write_err(err, err_size, e.message or e.name)
            return e.code if e.code else UNKNOWN
        except self.transient_exceptions as e:
            _write_err(err, err_size, '%s: %s' % (type(e).__name__, e))
            return IO
        except Exception as e:
            _write_err(err, err_size, 'Python store %s raised %s: %s' % (
                type(self).__name__, type(e).__name__, e))
            self.last_traceback = traceback.format_exc()
            return INTERNAL if isinstance(e, MemoryError) else UNKNOWN

    def _build_handle(self):
        me = self

        def scope_of(p):
            s = p.contents
            return (_s(s.application), _s(s.stream))

        def save(user, scope, shard, seq, sub, err, size):
            return me._guard(err, size, me.save, scope_of(scope), _s(shard), _s(seq), sub)

        def save_if_owner(user, scope, lease, seq, sub, now_ms, saved, err, size):
            def run():
                saved[0] = 1 if me.save_if_owner(scope_of(scope), _lease_from(lease), _s(seq),
                                                 sub, now_ms) else 0
            return me._guard(err, size, run)

        def load(user, scope, shard, emit, ctx, err, size):
            def run():
                got = me.load(scope_of(scope), _s(shard))
                if got is not None:
                    emit(ctx, shard, cstr(got[0]), int(got[1]))
            return me._guard(err, size, run)

        def load_all(user, scope, emit, ctx, err, size):
            def run():
                for shard_id, (seq, sub) in sorted(me.load_all(scope_of(scope)).items()):
                    emit(ctx, cstr(shard_id), cstr(seq), int(sub))
            return me._guard(err, size, run)

        def lease_out(emit, ctx, lease):
            c = _lib.Lease(cstr(lease.shard_id), cstr(lease.owner or ''), int(lease.counter),
                           int(lease.expires_at_ms))
            emit(ctx, ctypes.byref(c))

        def try_acquire(user, scope, shard, owner, ttl_ms, now_ms, emit, ctx, err, size):
            def run():
                got = me.try_acquire(scope_of(scope), _s(shard), _s(owner), ttl_ms, now_ms)
                if got is not None:
                    lease_out(emit, ctx, got)
            return me._guard(err, size, run)

        def renew(user, scope, lease, ttl_ms, now_ms, renewed, err, size):
            def run():
                renewed[0] = 1 if me.renew(scope_of(scope), _lease_from(lease), ttl_ms,
                                           now_ms) else 0
            return me._guard(err, size, run)

        def release(user, scope, lease, err, size):
            return me._guard(err, size, me.release, scope_of(scope), _lease_from(lease))

        def list_(user, scope, emit, ctx, err, size):
            def run():
                for lease in me.list_leases(scope_of(scope)):
                    lease_out(emit, ctx, lease)
            return me._guard(err, size, run)

        def delete_expired(user, scope, prefix, now_ms, deleted, err, size):
            def run():
                deleted[0] = int(me.delete_expired(scope_of(scope), _s(prefix), now_ms) or 0)
            return me._guard(err, size, run)

        key = None

        def destroy(user):
            try:
                me._run(me.on_destroy)  # on the store's own thread when serialized
            except Exception:
                pass
            if me._queue is not None:
                me._queue.put(None)
            with _registry_lock:
                _registry.pop(key, None)

        self._callbacks = _lib.StoreCallbacks(
            _lib.CB_SAVE(save), _lib.CB_SAVE_IF_OWNER(save_if_owner), _lib.CB_LOAD(load),
            _lib.CB_LOAD_ALL(load_all), _lib.CB_TRY_ACQUIRE(try_acquire), _lib.CB_RENEW(renew),
            _lib.CB_RELEASE(release), _lib.CB_LIST(list_),
            _lib.CB_DELETE_EXPIRED(delete_expired), _lib.CB_DESTROY(destroy))
        with _registry_lock:
            key = next(_registry_ids)
            # Keeps this object (and its callbacks) alive until libcinesis frees the store.
            _registry[key] = self
        handle = ctypes.POINTER(_lib.StoreH)()
        rc = _lib.load().cinesis_store_new_custom(ctypes.byref(self._callbacks), key,
                                                  ctypes.byref(handle))
        if rc != 0:
            with _registry_lock:
                _registry.pop(key, None)
            check(rc)
        self._handle = handle


# -- pynesis's Checkpointer interface --------------------------------------------------------

class Checkpointer(object):
    """pynesis's checkpointer interface: "up to that sequence (inclusive) the shard has been
    processed"; one checkpointer per stream. Subclass it for your own store."""

    def checkpoint(self, shard_id, sequence):
        raise NotImplementedError

    def get_checkpoint(self, shard_id):
        raise NotImplementedError

    def get_all_checkpoints(self):
        raise NotImplementedError


class InMemoryCheckpointer(Checkpointer):
    """A dict."""

    def __init__(self):
        self._lock = threading.Lock()
        self._checkpoints = {}

    def checkpoint(self, shard_id, sequence):
        with self._lock:
            self._checkpoints[shard_id] = sequence

    def get_checkpoint(self, shard_id):
        with self._lock:
            return self._checkpoints.get(shard_id)

    def get_all_checkpoints(self):
        with self._lock:
            return dict(self._checkpoints)


def _encode_position(seq, sub):
    return seq if not sub else '%s:%d' % (seq, sub)


def _decode_position(value):
    if value is None:
        return None
    if not isinstance(value, str):
        value = native(value) if isinstance(value, bytes) else str(value)
    if ':' in value:
        seq, sub = value.rsplit(':', 1)
        return seq, int(sub)
    return value, 0


class CheckpointerStore(PythonStore):
    """A Checkpointer (pynesis interface) as a libcinesis store. Checkpoints go to the
    checkpointer (shard id -> sequence number, "SEQ:SUB" inside a KPL aggregate); leases
    stay in this process (in memory)."""

    def __init__(self, checkpointer, serialize=True):
        # serialize: the checkpointer is called from one Python thread of the store's own
        # (pynesis checkpointers were written for one reading thread; Django's connections
        # are per thread and would otherwise be opened on the consumer's C++ threads).
        self.checkpointer = checkpointer
        PythonStore.__init__(self, serialize=serialize)

    def on_destroy(self):
        close = getattr(self.checkpointer, 'close_connections', None)
        if close is not None:
            close()

    def save(self, scope, shard_id, sequence_number, sub_sequence_number):
        self.checkpointer.checkpoint(shard_id, _encode_position(sequence_number,
                                                                sub_sequence_number))

    def load(self, scope, shard_id):
        return _decode_position(self.checkpointer.get_checkpoint(shard_id))

    def load_all(self, scope):
        return dict((k, _decode_position(v))
                    for k, v in (self.checkpointer.get_all_checkpoints() or {}).items())


class ReadingThreadCheckpointerStore(CheckpointerStore):
    """A Checkpointer called only on the thread that iterates ``Stream.read()`` (pynesis's
    model: a user's checkpointer may hold thread-bound resources, e.g. a sqlite3
    connection, and is called from the reading thread only).

    libcinesis asks the store from its own threads too (a shard reader loads its checkpoint
    when it starts, the coordinator lists the finished shards, a reader saves SHARD_END), so:

    - ``begin(client, stream)`` (on the reading thread, before the consumer starts) calls
      ``get_checkpoint`` for every shard of the stream and keeps the answers;
    - loads from other threads are answered from those answers; one for a shard not seen
      yet (a reshard's child) waits until the reading thread runs it in ``pump()``, which
      ``Stream.read()`` calls around every poll (at most ``poll_timeout`` apart);
    - saves on the reading thread (the commit inside a poll) call ``checkpoint`` at once;
      saves from other threads are kept and run by the reading thread (``pump()``, or
      ``end()`` after the consumer is closed), in the order libcinesis made them;
    - ``get_all_checkpoints`` is never called (pynesis never did): the list of finished
      shards comes from the answers kept.

    Once ``detach()`` was called (the iteration is over), a load from another thread fails
    at once (a transient error: the consumer, stopping, does not wait for it).
    """

    def __init__(self, checkpointer):
        CheckpointerStore.__init__(self, checkpointer, serialize=False)
        self._lock_rt = threading.Lock()
        self._known = {}      # shard id -> the checkpointer's value (None: no checkpoint)
        self._owner = None    # the reading thread's ident while a read() runs
        self._loads = []      # [shard_id, threading.Event, box] asked by other threads
        self._saves = []      # (shard_id, value) made by other threads, not written yet

    # -- on the reading thread -------------------------------------------------------
    def begin(self, client, stream):
        with self._lock_rt:
            self._owner = threading.current_thread().ident
        try:
            shards = client.list_shards(stream)
        except KinesisError as e:
            e.operation = 'ListShards'
            raise
        for shard in shards:
            shard_id = shard['ShardId']
            if shard_id not in self._known:
                value = self.checkpointer.get_checkpoint(shard_id)
                with self._lock_rt:
                    self._known.setdefault(shard_id, value)

    def pump(self):
        """Runs what other threads asked of the checkpointer (call on the reading thread)."""
        if not self._loads and not self._saves:
            return
        self._flush_saves()
        with self._lock_rt:
            loads, self._loads = self._loads, []
        for shard_id, done, box in loads:
            try:
                value = self.checkpointer.get_checkpoint(shard_id)
            except BaseException as e:  # noqa: B902 - carried to the asking thread
                box.append((False, e))
                done.set()
                continue
            with self._lock_rt:
                self._known.setdefault(shard_id, value)
                value = self._known[shard_id]
            box.append((True, value))
            done.set()

    def detach(self):
        """The iteration is over: loads asked from other threads fail from now on."""
        with self._lock_rt:
            self._owner = None
            loads, self._loads = self._loads, []
        for shard_id, done, box in loads:
            box.append((False, EnvironmentError('the stream is not being read')))
            done.set()

    def end(self):
        """After the consumer is closed: writes the saves other threads made."""
        self._flush_saves()

    def _flush_saves(self):
        while True:
            with self._lock_rt:
                if not self._saves:
                    return
                shard_id, value = self._saves[0]
            self.checkpointer.checkpoint(shard_id, value)
            with self._lock_rt:
                self._saves.pop(0)

    def _on_reader(self):
        return threading.current_thread().ident == self._owner

    # -- the store's callbacks (any thread) ----------------------------------------------
    def on_destroy(self):
        pass  # the checkpointer's resources belong to the reading thread

    def save(self, scope, shard_id, sequence_number, sub_sequence_number):
        value = _encode_position(sequence_number, sub_sequence_number)
        if self._on_reader():
            self._flush_saves()  # in the order libcinesis made them
            self.checkpointer.checkpoint(shard_id, value)
            with self._lock_rt:
                self._known[shard_id] = value
            return
        with self._lock_rt:
            self._known[shard_id] = value
            self._saves.append((shard_id, value))

    def load(self, scope, shard_id):
        with self._lock_rt:
            if shard_id in self._known:
                return _decode_position(self._known[shard_id])
            on_reader = self._owner is not None and \
                threading.current_thread().ident == self._owner
            if not on_reader:
                if self._owner is None:
                    raise EnvironmentError('the stream is not being read')
                done, box = threading.Event(), []
                self._loads.append([shard_id, done, box])
        if on_reader:
            value = self.checkpointer.get_checkpoint(shard_id)
            with self._lock_rt:
                self._known.setdefault(shard_id, value)
            return _decode_position(value)
        done.wait()
        ok, value = box[0]
        if not ok:
            raise value
        return _decode_position(value)

    def load_all(self, scope):
        with self._lock_rt:
            known = dict(self._known)
        return dict((k, _decode_position(v)) for k, v in known.items() if v is not None)


def as_store(obj):
    """A Store for obj: a Store as is, a Checkpointer wrapped, None stays None."""
    if obj is None or isinstance(obj, Store):
        return obj
    if isinstance(obj, Checkpointer) or all(hasattr(obj, m) for m in (
            'checkpoint', 'get_checkpoint', 'get_all_checkpoints')):
        return CheckpointerStore(obj)
    raise TypeError('a checkpoint store must be a cinesis Store or a Checkpointer, not %s'
                    % type(obj).__name__)
