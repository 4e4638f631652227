"""Reading the settings: CINESIS (native form) and PYNESIS_CONFIG (pynesis's form)."""

import threading

from django.conf import settings
from django.utils.module_loading import import_string

import cinesis

_local = threading.local()
_shared_lock = threading.Lock()
_shared_local_kinesis = []

PYNESIS_BASES = ('pynesis.streams.Stream', 'pynesis.backends.Backend')


def native_config():
    return getattr(settings, 'CINESIS', None) or {}


def local_mode():
    """True when every stream runs on one in-process LocalKinesis (the test setting
    CINESIS["LOCAL"] = True, or CINESIS_LOCAL = True)."""
    return bool(native_config().get('LOCAL') or getattr(settings, 'CINESIS_LOCAL', False))


def local_kinesis():
    """The process-wide LocalKinesis of the test mode."""
    with _shared_lock:
        if not _shared_local_kinesis:
            _shared_local_kinesis.append(cinesis.LocalKinesis())
        return _shared_local_kinesis[0]


def reset_local_kinesis():
    """Closes the test mode's LocalKinesis and this thread's cached streams (and their
    stores, so their database connections are closed)."""
    for stream in (getattr(_local, 'streams', None) or {}).values():
        close_stream(stream)
    _local.streams = {}
    with _shared_lock:
        while _shared_local_kinesis:
            _shared_local_kinesis.pop().close()


def close_stream(stream):
    for store in (getattr(stream, 'checkpoints', None), getattr(stream, 'leases', None)):
        if store is not None and hasattr(store, 'close'):
            store.close()


def make_client():
    if local_mode():
        return local_kinesis()
    return cinesis.Client(**dict((k.lower(), v) for k, v in
                                 (native_config().get('CLIENT') or {}).items()))


def make_store(spec):
    """A store from its setting: "django", "memory", "sqlite:PATH", "redis://H:P/DB",
    "postgresql://..." (or "postgres://"), a dotted path to a Store/Checkpointer class, or a
    Store/Checkpointer instance."""
    if spec is None or spec == 'memory':
        return cinesis.MemoryStore() if spec == 'memory' else None
    if not isinstance(spec, str):
        return spec
    if spec == 'django':
        from .store import DjangoStore
        return DjangoStore()
    if spec.startswith('django:'):
        from .store import DjangoStore
        return DjangoStore(using=spec.split(':', 1)[1])
    if spec.startswith('sqlite:'):
        return cinesis.SqliteStore(spec.split(':', 1)[1])
    if spec.startswith('redis://'):
        rest = spec[len('redis://'):]
        hostport, _, db = rest.partition('/')
        host, _, port = hostport.partition(':')
        return cinesis.RedisStore(host or '127.0.0.1', int(port or 6379), int(db or 0))
    if spec.startswith('postgresql://') or spec.startswith('postgres://'):
        return cinesis.PostgresStore(spec)
    return import_string(spec)()


def stream_settings(name):
    streams = native_config().get('STREAMS') or {}
    if name not in streams:
        return None
    return streams[name]


def build_native_stream(name, **overrides):
    conf = stream_settings(name)
    if conf is None:
        from django.core.exceptions import ImproperlyConfigured
        raise ImproperlyConfigured('CINESIS["STREAMS"] has no stream named %r' % name)
    stream_name = conf.get('STREAM_NAME', name)
    checkpoints = make_store(overrides.pop('checkpoints', conf.get('CHECKPOINTS', 'django')))
    leases = conf.get('LEASES', False)
    if leases is True:
        leases = checkpoints if checkpoints is not None else None
    elif leases:
        leases = make_store(leases)
    else:
        leases = None
    opts = dict(conf.get('OPTIONS') or {})
    opts.update(overrides)
    client = make_client()
    stream = cinesis.Stream(stream_name, client=client,
                            application=conf.get('APPLICATION', stream_name),
                            checkpoints=checkpoints, leases=leases, **opts)
    if local_mode():
        stream.ensure_exists(int(conf.get('SHARDS', 1)))
    return stream


def build_pynesis_stream(name):
    config = getattr(settings, 'PYNESIS_CONFIG', None) or {}
    from django.core.exceptions import ImproperlyConfigured
    if name not in config:
        raise ImproperlyConfigured('PYNESIS_CONFIG has no stream named %r' % name)
    conf = config[name]
    cp_cls = import_string(conf.get('CHECKPOINTER', 'pynesis.checkpointers.InMemoryCheckpointer'))
    checkpointer = cp_cls(**(conf.get('CHECKPOINTER_OPTIONS') or {}))
    if not isinstance(checkpointer, cinesis.Checkpointer):
        raise ImproperlyConfigured('%s is not a pynesis.checkpointers.Checkpointer' % cp_cls)
    backend = conf.get('BACKEND', 'pynesis.streams.DummyStream')
    options = dict(conf.get('BACKEND_OPTIONS') or {})
    if local_mode() and backend in ('pynesis.streams.KinesisStream',
                                    'pynesis.backends.KinesisBackend'):
        lk = local_kinesis()
        s = cinesis.Stream(options['stream_name'], client=lk)
        s.ensure_exists(1)
        options['kinesis_client'] = lk
        options['checkpointer'] = checkpointer
        return import_string(backend)(**options)
    cls = import_string(backend)
    if 'Dummy' in cls.__name__:
        return cls(**options)
    stream = cls(checkpointer=checkpointer, **options)
    bases = tuple(import_string(b) for b in PYNESIS_BASES)
    if not isinstance(stream, bases):
        raise ImproperlyConfigured('%s is not a pynesis Stream or Backend' % backend)
    return stream


def get_stream(name):
    cache = getattr(_local, 'streams', None)
    if cache is None:
        cache = _local.streams = {}
    if name not in cache:
        if stream_settings(name) is not None:
            cache[name] = build_native_stream(name)
        else:
            cache[name] = build_pynesis_stream(name)
    return cache[name]
