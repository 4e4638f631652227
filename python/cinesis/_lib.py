"""Loading libcinesis and declaring the C interface (include/cinesis/cinesis.h) for ctypes.

Lookup order: the CINESIS_LIBRARY environment variable (a file path); next to the package
(the package directory, its parent, and a CMake build tree of the source checkout the
package lives in); the install prefix (``<prefix>/lib``); the system loader.

ctypes releases the GIL around every foreign call, so C++ I/O never holds it.
Works on Python 2.7 and 3.6+.
"""

import ctypes
import ctypes.util
import glob
import os
import sys
import threading

LIBRARY_NAMES = ('libcinesis.so', 'libcinesis.dylib', 'cinesis.dll')


class LibraryNotFoundError(ImportError):
    """libcinesis could not be found or loaded; the message says where it looked."""


c_err = ctypes.c_int


class Options(ctypes.Structure):
    pass


class ClientH(ctypes.Structure):
    pass


class ProducerH(ctypes.Structure):
    pass


class StoreH(ctypes.Structure):
    pass


class ConsumerH(ctypes.Structure):
    pass


class BatchH(ctypes.Structure):
    pass


class LocalH(ctypes.Structure):
    pass


class RecordIn(ctypes.Structure):
    # data is declared char * (same ABI as const void *) so that a bytes object can be
    # assigned without a copy; data_len gives its length (NUL bytes are fine).
    _fields_ = [('partition_key', ctypes.c_char_p), ('data', ctypes.c_char_p),
                ('data_len', ctypes.c_size_t), ('explicit_hash_key', ctypes.c_char_p),
                ('opaque', ctypes.c_uint64)]


class Delivery(ctypes.Structure):
    _fields_ = [('opaque', ctypes.c_uint64), ('err', c_err), ('error_message', ctypes.c_char_p),
                ('shard_id', ctypes.c_char_p), ('sequence_number', ctypes.c_char_p),
                ('sub_sequence_number', ctypes.c_uint64), ('attempts', ctypes.c_int)]


class PutSummary(ctypes.Structure):
    _fields_ = [('first_opaque', ctypes.c_uint64), ('records', ctypes.c_size_t),
                ('failed', ctypes.c_size_t)]


class ProducerMetrics(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in (
        'records_put', 'records_failed', 'retries', 'put_records_calls', 'buffered_records',
        'buffered_bytes', 'pending_reports')]


class Scope(ctypes.Structure):
    _fields_ = [('application', ctypes.c_char_p), ('stream', ctypes.c_char_p)]


class Lease(ctypes.Structure):
    _fields_ = [('shard_id', ctypes.c_char_p), ('owner', ctypes.c_char_p),
                ('counter', ctypes.c_uint64), ('expires_at_ms', ctypes.c_int64)]


class ConsumerRecord(ctypes.Structure):
    _fields_ = [('shard_id', ctypes.c_char_p), ('sequence_number', ctypes.c_char_p),
                ('sub_sequence_number', ctypes.c_uint64), ('aggregated', ctypes.c_int),
                ('partition_key', ctypes.c_char_p), ('explicit_hash_key', ctypes.c_char_p),
                ('data', ctypes.c_void_p), ('data_len', ctypes.c_size_t),
                ('arrival_ms', ctypes.c_int64)]


class BatchColumns(ctypes.Structure):
    # Pointers as c_void_p (plain ints in Python): read with ctypes.string_at.
    _fields_ = [('count', ctypes.c_size_t), ('data', ctypes.c_void_p),
                ('data_offsets', ctypes.c_void_p), ('partition_keys', ctypes.c_void_p),
                ('key_offsets', ctypes.c_void_p), ('sequence_numbers', ctypes.c_void_p),
                ('sequence_offsets', ctypes.c_void_p), ('explicit_hash_keys', ctypes.c_void_p),
                ('explicit_hash_key_offsets', ctypes.c_void_p),
                ('sub_sequence_numbers', ctypes.c_void_p), ('arrival_ms', ctypes.c_void_p),
                ('flags', ctypes.c_void_p), ('shard_index', ctypes.c_void_p),
                ('shard_count', ctypes.c_size_t), ('shard_ids', ctypes.c_void_p),
                ('shard_offsets', ctypes.c_void_p)]


class Event(ctypes.Structure):
    _fields_ = [('type', ctypes.c_int), ('shard_id', ctypes.c_char_p), ('time_ms', ctypes.c_int64),
                ('err', c_err), ('message', ctypes.c_char_p), ('fatal', ctypes.c_int)]


class ConsumerMetrics(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in (
        'records', 'get_records_calls', 'checkpoints', 'throttled', 'shards_finished',
        'leases_taken', 'leases_lost', 'owned_shards', 'errors', 'events_dropped')] + [
        ('max_millis_behind_latest', ctypes.c_int64)]


P = ctypes.POINTER
ERRBUF = ctypes.c_void_p  # char *err (written with memmove), size_t err_size follows

CHECKPOINT_EMIT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                   ctypes.c_uint64)
LEASE_EMIT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, P(Lease))

CB_SAVE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, P(Scope), ctypes.c_char_p,
                           ctypes.c_char_p, ctypes.c_uint64, ERRBUF, ctypes.c_size_t)
CB_SAVE_IF_OWNER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, P(Scope), P(Lease),
                                    ctypes.c_char_p, ctypes.c_uint64, ctypes.c_int64,
                                    P(ctypes.c_int), ERRBUF, ctypes.c_size_t)
CB_LOAD = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, P(Scope), ctypes.c_char_p,
                           CHECKPOINT_EMIT, ctypes.c_void_p, ERRBUF, ctypes.c_size_t)
CB_LOAD_ALL = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, P(Scope), CHECKPOINT_EMIT,
                               ctypes.c_void_p, ERRBUF, ctypes.c_size_t)
CB_TRY_ACQUIRE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, P(Scope), ctypes.c_char_p,
                                  ctypes.c_char_p, ctypes.c_int64, ctypes.c_int64, LEASE_EMIT,
                                  ctypes.c_void_p, ERRBUF, ctypes.c_size_t)
CB_RENEW = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, P(Scope), P(Lease), ctypes.c_int64,
                            ctypes.c_int64, P(ctypes.c_int), ERRBUF, ctypes.c_size_t)
CB_RELEASE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, P(Scope), P(Lease), ERRBUF,
                              ctypes.c_size_t)
CB_LIST = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, P(Scope), LEASE_EMIT, ctypes.c_void_p,
                           ERRBUF, ctypes.c_size_t)
CB_DELETE_EXPIRED = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, P(Scope), ctypes.c_char_p,
                                     ctypes.c_int64, P(ctypes.c_size_t), ERRBUF, ctypes.c_size_t)
CB_DESTROY = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


class StoreCallbacks(ctypes.Structure):
    _fields_ = [('save', CB_SAVE), ('save_if_owner', CB_SAVE_IF_OWNER), ('load', CB_LOAD),
                ('load_all', CB_LOAD_ALL), ('try_acquire', CB_TRY_ACQUIRE), ('renew', CB_RENEW),
                ('release', CB_RELEASE), ('list', CB_LIST), ('delete_expired', CB_DELETE_EXPIRED),
                ('destroy', CB_DESTROY)]


LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p)

_VP = ctypes.c_void_p
_S = ctypes.c_char_p
_I64 = ctypes.c_int64
_SZ = ctypes.c_size_t

# name: (restype, argtypes)
PROTOTYPES = {
    'cinesis_err_name': (ctypes.c_char_p, [c_err]),
    'cinesis_err_retriable': (ctypes.c_int, [c_err]),
    'cinesis_last_error': (ctypes.c_char_p, []),
    'cinesis_last_error_code': (c_err, []),
    'cinesis_free': (None, [_VP]),
    'cinesis_version': (ctypes.c_char_p, []),
    'cinesis_version_number': (ctypes.c_int, []),
    'cinesis_set_log_callback': (None, [LOG_FN, _VP, ctypes.c_int]),
    'cinesis_options_new': (P(Options), []),
    'cinesis_options_set': (c_err, [P(Options), _S, _S]),
    'cinesis_options_destroy': (None, [P(Options)]),
    'cinesis_client_new': (c_err, [P(Options), P(P(ClientH))]),
    'cinesis_client_destroy': (None, [P(ClientH)]),
    'cinesis_client_call': (c_err, [P(ClientH), _S, _S, P(_VP)]),
    'cinesis_create_stream': (c_err, [P(ClientH), _S, ctypes.c_int]),
    'cinesis_create_stream_on_demand': (c_err, [P(ClientH), _S]),
    'cinesis_delete_stream': (c_err, [P(ClientH), _S, ctypes.c_int]),
    'cinesis_wait_for_active': (c_err, [P(ClientH), _S, _I64]),
    'cinesis_update_shard_count': (c_err, [P(ClientH), _S, ctypes.c_int]),
    'cinesis_describe_stream': (c_err, [P(ClientH), _S, P(_VP)]),
    'cinesis_list_streams': (c_err, [P(ClientH), P(_VP)]),
    'cinesis_list_shards': (c_err, [P(ClientH), _S, P(_VP)]),
    'cinesis_put_record': (c_err, [P(ClientH), _S, _S, _VP, _SZ, _S, _VP, _SZ, _VP, _SZ]),
    'cinesis_producer_new': (c_err, [P(ClientH), P(Options), P(P(ProducerH))]),
    'cinesis_producer_put': (c_err, [P(ProducerH), P(RecordIn)]),
    'cinesis_producer_put_batch': (c_err, [P(ProducerH), P(RecordIn), _SZ, P(_SZ)]),
    # data, data_lens (uint32 array as bytes), keys, key_lens (same, or None)
    'cinesis_producer_put_packed': (c_err, [P(ProducerH), _S, _S, _S, _S, _SZ, ctypes.c_uint64,
                                            P(_SZ)]),
    'cinesis_producer_poll_summaries': (c_err, [P(ProducerH), P(PutSummary), _SZ, _I64,
                                                P(_SZ)]),
    'cinesis_producer_poll': (c_err, [P(ProducerH), P(Delivery), _SZ, _I64, P(_SZ)]),
    'cinesis_producer_flush': (c_err, [P(ProducerH), _I64]),
    'cinesis_producer_close': (c_err, [P(ProducerH), _I64]),
    'cinesis_producer_metrics': (c_err, [P(ProducerH), P(ProducerMetrics)]),
    'cinesis_producer_destroy': (None, [P(ProducerH)]),
    'cinesis_store_open_memory': (c_err, [P(P(StoreH))]),
    'cinesis_store_open_sqlite': (c_err, [_S, P(P(StoreH))]),
    'cinesis_store_open_redis': (c_err, [_S, ctypes.c_int, ctypes.c_int, P(P(StoreH))]),
    'cinesis_store_open_postgres': (c_err, [_S, P(P(StoreH))]),
    'cinesis_store_destroy': (None, [P(StoreH)]),
    'cinesis_store_save': (c_err, [P(StoreH), P(Scope), _S, _S, ctypes.c_uint64]),
    'cinesis_store_load': (c_err, [P(StoreH), P(Scope), _S, P(_VP), P(ctypes.c_uint64)]),
    'cinesis_store_new_custom': (c_err, [P(StoreCallbacks), _VP, P(P(StoreH))]),
    'cinesis_consumer_new': (c_err, [P(ClientH), P(Options), P(StoreH), P(StoreH),
                                     P(P(ConsumerH))]),
    'cinesis_batch_count': (_SZ, [P(BatchH)]),
    'cinesis_batch_records': (P(ConsumerRecord), [P(BatchH)]),
    'cinesis_batch_destroy': (None, [P(BatchH)]),
    'cinesis_batch_columns': (c_err, [P(BatchH), P(BatchColumns)]),
    'cinesis_consumer_poll': (c_err, [P(ConsumerH), _I64, P(P(BatchH))]),
    'cinesis_consumer_commit': (c_err, [P(ConsumerH)]),
    'cinesis_consumer_commit_record': (c_err, [P(ConsumerH), _S, _S, ctypes.c_uint64]),
    'cinesis_consumer_events': (c_err, [P(ConsumerH), P(Event), _SZ, P(_SZ)]),
    'cinesis_consumer_metrics': (c_err, [P(ConsumerH), P(ConsumerMetrics)]),
    'cinesis_consumer_worker_id': (ctypes.c_char_p, [P(ConsumerH)]),
    'cinesis_consumer_stop': (c_err, [P(ConsumerH)]),
    'cinesis_consumer_destroy': (None, [P(ConsumerH)]),
    'cinesis_local_new': (c_err, [P(Options), P(P(LocalH))]),
    'cinesis_local_client': (P(ClientH), [P(LocalH)]),
    'cinesis_local_tick': (c_err, [P(LocalH)]),
    'cinesis_local_destroy': (None, [P(LocalH)]),
}

_lock = threading.Lock()
_lib = None
_tried = []


def _package_dir():
    return os.path.dirname(os.path.abspath(__file__))


def candidate_paths():
    """The files tried, in order (the system loader comes after these)."""
    env = os.environ.get('CINESIS_LIBRARY')
    if env:
        return [env]  # an explicit choice: nothing else is tried
    out = []
    pkg = _package_dir()
    for d in (pkg, os.path.dirname(pkg)):
        for name in LIBRARY_NAMES:
            out.append(os.path.join(d, name))
    # A source checkout: <repo>/python/cinesis -> <repo>/build/<preset>/**/libcinesis.so*
    repo = os.path.dirname(os.path.dirname(pkg))
    for preset in ('release', 'debug', 'asan'):
        base = os.path.join(repo, 'build', preset)
        if os.path.isdir(base):
            found = sorted(glob.glob(os.path.join(base, 'libcinesis.so'))
                           + glob.glob(os.path.join(base, '*', 'libcinesis.so'))
                           + glob.glob(os.path.join(base, '*', '*', 'libcinesis.so')))
            out.extend(found)
    # The install prefix: <prefix>/lib[/<multiarch>] next to lib/pythonX/site-packages.
    prefixes = []
    marker = os.sep + 'lib' + os.sep
    if marker in pkg:
        prefixes.append(pkg[:pkg.rindex(marker)])
    for p in (sys.prefix, getattr(sys, 'base_prefix', sys.prefix), '/usr/local'):
        if p not in prefixes:
            prefixes.append(p)
    for p in prefixes:
        for sub in ('lib', 'lib64', os.path.join('lib', 'x86_64-linux-gnu'),
                    os.path.join('lib', 'aarch64-linux-gnu')):
            for name in LIBRARY_NAMES:
                out.append(os.path.join(p, sub, name))
    return out


def _declare(lib):
    for name, (restype, argtypes) in PROTOTYPES.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


def load():
    """The loaded library (loaded once); LibraryNotFoundError when there is none."""
    global _lib
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is not None:
            return _lib
        tried = []
        env = os.environ.get('CINESIS_LIBRARY')
        for path in candidate_paths():
            if not os.path.isfile(path):
                if path == env:
                    tried.append('%s (CINESIS_LIBRARY: no such file)' % path)
                continue
            try:
                lib = ctypes.CDLL(path)
                getattr(lib, 'cinesis_client_call')
            except (OSError, AttributeError) as e:
                tried.append('%s (%s)' % (path, e))
                if path == env:
                    break  # an explicit choice that does not load is an error, not a fallback
                continue
            _lib = _declare(lib)
            _lib._cinesis_path = path
            return _lib
        else:
            name = None if env else ctypes.util.find_library('cinesis')
            for candidate in ([] if env else ([name] if name else []) + ['libcinesis.so']):
                try:
                    lib = ctypes.CDLL(candidate)
                    getattr(lib, 'cinesis_client_call')
                except (OSError, AttributeError) as e:
                    tried.append('%s via the system loader (%s)' % (candidate, e))
                    continue
                _lib = _declare(lib)
                _lib._cinesis_path = candidate
                return _lib
        raise LibraryNotFoundError(
            'libcinesis not found. Build it (from the repository root: cmake --preset release '
            '&& cmake --build --preset release), install it (cmake --install build/release), '
            'or point CINESIS_LIBRARY at the file (export CINESIS_LIBRARY=/path/to/libcinesis.so). '
            'Tried: %s' % ('; '.join(tried) or 'no candidate file exists (looked next to the '
                           'package, in build/{release,debug,asan}, in <prefix>/lib and the '
                           'system loader)'))


def library_path():
    return load()._cinesis_path
