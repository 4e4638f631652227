"""Client (HTTP Kinesis endpoint) and LocalKinesis (the engine in process)."""

import ctypes
import json
import threading
import weakref

from . import _lib
from ._util import (Options, b64_request, check, cstr, data_bytes, decode_response, native,
                    seconds_to_ms, take_string)


class PutResult(object):
    """The answer to one put_record: shard_id and sequence_number (native str)."""
    __slots__ = ('shard_id', 'sequence_number')

    def __init__(self, shard_id, sequence_number):
        self.shard_id = shard_id
        self.sequence_number = sequence_number

    def __repr__(self):
        return 'PutResult(shard_id=%r, sequence_number=%r)' % (self.shard_id,
                                                               self.sequence_number)


class Client(object):
    """A Kinesis client (libcinesis's KinesisClient): SigV4, retries, TLS.

    endpoint: "http://127.0.0.1:4567", "https://kinesis.eu-west-1.amazonaws.com", ...;
    None means the environment (AWS_ENDPOINT_URL_KINESIS, AWS_ENDPOINT_URL, the profile's
    endpoint_url) and then AWS's endpoint for the region. Credentials: the arguments, else
    the chain boto3 uses (environment, shared files with ``profile``, container/instance
    metadata); a loopback endpoint needs none. Timeouts are seconds. ``options`` adds raw
    libcinesis client options (see docs/client.md, "The C interface").
    """

    def __init__(self, endpoint=None, region=None, access_key_id=None, secret_access_key=None,
                 session_token=None, profile=None, verify_tls=None, connect_timeout=None,
                 request_timeout=None, max_attempts=None, options=None, ca_bundle=None):
        self._lib = _lib.load()
        values = {
            'endpoint': endpoint, 'region': region, 'access_key_id': access_key_id,
            'secret_access_key': secret_access_key, 'session_token': session_token,
            'profile': profile, 'verify_tls': verify_tls, 'ca_bundle': ca_bundle,
            'connect_timeout_ms': seconds_to_ms(connect_timeout),
            'request_timeout_ms': seconds_to_ms(request_timeout),
            'retry.max_attempts': max_attempts,
        }
        values.update(options or {})
        self._children = weakref.WeakSet() if hasattr(weakref, 'WeakSet') else None
        self._lock = threading.Lock()
        handle = ctypes.POINTER(_lib.ClientH)()
        with Options(values) as opts:
            check(self._lib.cinesis_client_new(opts.handle, ctypes.byref(handle)))
        self._handle = handle
        self._owned = True

    # -- lifetime --------------------------------------------------------------------
    @property
    def handle(self):
        h = self._handle
        if not h:
            from .errors import ClosedError
            raise ClosedError('the client is closed')
        return h

    def _adopt(self, child):
        self._children.add(child)

    def close(self):
        """Closes every producer and consumer made from this client, then the client."""
        with self._lock:
            if not self._handle:
                return
            children = list(self._children)
        for child in children:
            try:
                child.close()
            except Exception:
                pass
        with self._lock:
            h, self._handle = self._handle, None
        if h and self._owned:
            self._lib.cinesis_client_destroy(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            if getattr(self, '_handle', None):
                self.close()
        except Exception:
            pass

    # -- any operation ---------------------------------------------------------------
    def call(self, operation, **params):
        """Any Kinesis operation by name with boto3-style parameters; returns the response
        dict. Data members are bytes (Base64 on the wire), *Timestamp members datetimes."""
        request = json.dumps(b64_request(params))
        out = ctypes.c_void_p()
        check(self._lib.cinesis_client_call(self.handle, cstr(operation, 'operation'),
                                            request.encode('utf-8'), ctypes.byref(out)))
        text = take_string(out)
        return decode_response(json.loads(text.decode('utf-8'))) if text else {}

    # -- stream administration -------------------------------------------------------
    def create_stream(self, stream, shard_count=1, on_demand=False, wait=True, timeout=60):
        """CreateStream, then (wait=True) waits until ACTIVE (DeadlineExceededError after
        timeout seconds)."""
        name = cstr(stream, 'stream')
        if on_demand:
            check(self._lib.cinesis_create_stream_on_demand(self.handle, name))
        else:
            if not isinstance(shard_count, int) or isinstance(shard_count, bool):
                raise TypeError('shard_count must be an int')
            if shard_count < 1:
                # Through the generic call, which validates like AWS (ValidationException):
                # libcinesis's typed CreateStream over LocalKinesis does not check the count
                # (SIGFPE on 0 as of capi af04793), and an interpreter must never crash.
                self.call('CreateStream', StreamName=stream, ShardCount=shard_count)
            check(self._lib.cinesis_create_stream(self.handle, name, shard_count))
        if wait:
            self.wait_for_active(stream, timeout)

    def wait_for_active(self, stream, timeout=60):
        check(self._lib.cinesis_wait_for_active(self.handle, cstr(stream, 'stream'),
                                                seconds_to_ms(timeout)))

    def delete_stream(self, stream, enforce_consumer_deletion=False):
        check(self._lib.cinesis_delete_stream(self.handle, cstr(stream, 'stream'),
                                              1 if enforce_consumer_deletion else 0))

    def update_shard_count(self, stream, target, wait=True, timeout=60):
        """UpdateShardCount (UNIFORM_SCALING); waits until ACTIVE again when wait."""
        check(self._lib.cinesis_update_shard_count(self.handle, cstr(stream, 'stream'),
                                                   int(target)))
        if wait:
            self.wait_for_active(stream, timeout)

    reshard = update_shard_count

    def split_shard(self, stream, shard_id, new_starting_hash_key, wait=True, timeout=60):
        self.call('SplitShard', StreamName=stream, ShardToSplit=shard_id,
                  NewStartingHashKey=str(new_starting_hash_key))
        if wait:
            self.wait_for_active(stream, timeout)

    def merge_shards(self, stream, shard_id, adjacent_shard_id, wait=True, timeout=60):
        self.call('MergeShards', StreamName=stream, ShardToMerge=shard_id,
                  AdjacentShardToMerge=adjacent_shard_id)
        if wait:
            self.wait_for_active(stream, timeout)

    def _json_out(self, fn, *args):
        out = ctypes.c_void_p()
        check(fn(self.handle, *(args + (ctypes.byref(out),))))
        return decode_response(json.loads(take_string(out).decode('utf-8')))

    def describe_stream(self, stream):
        """DescribeStreamSummary's StreamDescriptionSummary (a dict)."""
        return self._json_out(self._lib.cinesis_describe_stream,
                              cstr(stream, 'stream'))['StreamDescriptionSummary']

    def list_streams(self):
        """Every stream name (all pages)."""
        return list(self._json_out(self._lib.cinesis_list_streams)['StreamNames'])

    def list_shards(self, stream):
        """Every shard of the stream (ListShards, all pages): a list of dicts."""
        return list(self._json_out(self._lib.cinesis_list_shards,
                                   cstr(stream, 'stream'))['Shards'])

    def put_record(self, stream, data, partition_key, explicit_hash_key=None):
        """One synchronous PutRecord; returns PutResult(shard_id, sequence_number)."""
        payload = data_bytes(data)
        shard = ctypes.create_string_buffer(64)
        seq = ctypes.create_string_buffer(128)
        check(self._lib.cinesis_put_record(
            self.handle, cstr(stream, 'stream'), cstr(partition_key, 'partition_key'),
            payload, len(payload), cstr(explicit_hash_key, 'explicit_hash_key'),
            shard, len(shard), seq, len(seq)))
        return PutResult(native(shard.value), native(seq.value))

    # -- producers and consumers ----------------------------------------------------
    def producer(self, stream, **kwargs):
        """A Producer for the stream (see cinesis.Producer)."""
        from .producer import Producer
        return Producer(self, stream, **kwargs)

    def consumer(self, stream, application, **kwargs):
        """A Consumer of the stream for the application (see cinesis.Consumer)."""
        from .consumer import Consumer
        return Consumer(self, stream, application, **kwargs)


class LocalKinesis(Client):
    """The Kinesis engine in process: no server, no socket, no network. What is put can be
    read back, resharding works and errors are AWS's (types and texts). Delays in seconds
    make create/delete/update take that long (default 0: ACTIVE at once)."""

    def __init__(self, create_stream_delay=0, delete_stream_delay=0, update_stream_delay=0,
                 options=None):
        self._lib = _lib.load()
        self._lock = threading.Lock()
        self._children = weakref.WeakSet()
        values = {'create_stream_ms': seconds_to_ms(create_stream_delay),
                  'delete_stream_ms': seconds_to_ms(delete_stream_delay),
                  'update_stream_ms': seconds_to_ms(update_stream_delay)}
        values.update(options or {})
        local = ctypes.POINTER(_lib.LocalH)()
        with Options(values) as opts:
            check(self._lib.cinesis_local_new(opts.handle, ctypes.byref(local)))
        self._local = local
        self._handle = self._lib.cinesis_local_client(local)
        self._owned = False  # owned by the local engine

    def tick(self):
        """Runs the engine's housekeeping now (deletions, state changes that are due)."""
        if not self._local:
            from .errors import ClosedError
            raise ClosedError('LocalKinesis is closed')
        check(self._lib.cinesis_local_tick(self._local))

    def close(self):
        Client.close(self)
        local, self._local = getattr(self, '_local', None), None
        if local:
            self._lib.cinesis_local_destroy(local)
