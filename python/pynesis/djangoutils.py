"""pynesis.djangoutils on cinesis: get_stream(name) from settings.PYNESIS_CONFIG (cached per
thread AND per name: pynesis returned the first stream for every name) and
DjangoCheckpointer (pynesis's get_all_checkpoints failed on first use)."""

import json
import threading

from django.db import transaction

from cinesis.stores import Checkpointer

_local = threading.local()


def get_stream(name):
    """The stream PYNESIS_CONFIG[name] describes; a name not there gives pynesis's
    defaults (BACKEND DummyStream, CHECKPOINTER InMemoryCheckpointer), as in pynesis."""
    from django.conf import settings
    from cinesis.contrib.django.conf import build_pynesis_stream
    cache = getattr(_local, 'streams', None)
    if cache is None:
        cache = _local.streams = {}
    if name not in cache:
        if name in (getattr(settings, 'PYNESIS_CONFIG', None) or {}):
            cache[name] = build_pynesis_stream(name)
        else:
            from .streams import DummyStream
            cache[name] = DummyStream()
    return cache[name]


def reset_streams():
    """Closes and forgets this thread's cached streams (tests, settings changes)."""
    for stream in (getattr(_local, 'streams', None) or {}).values():
        inner = getattr(getattr(stream, 'stream', stream), '_stream', None)
        store = getattr(inner, 'checkpoints', None)
        if store is not None and hasattr(store, 'close'):
            store.close()
    _local.streams = {}


class DjangoCheckpointer(Checkpointer):
    """All of a stream's checkpoints as one JSON text in pynesis.models.Checkpoint (row
    ``key``). Needs "pynesis" in INSTALLED_APPS."""

    def __init__(self, key='checkpoint'):
        self.key = key

    def _model(self):
        from pynesis.models import Checkpoint
        return Checkpoint

    def checkpoint(self, shard_id, sequence):
        model = self._model()
        with transaction.atomic():
            row, _ = model.objects.select_for_update().get_or_create(
                key=self.key, defaults={'checkpoints': '{}'})
            data = json.loads(row.checkpoints or '{}')
            data[shard_id] = sequence
            row.checkpoints = json.dumps(data, sort_keys=True)
            row.save()

    def get_checkpoint(self, shard_id):
        return self.get_all_checkpoints().get(shard_id)

    def close_connections(self):
        """Closes this thread's database connections (called on the store's thread when the
        consumer's store is freed)."""
        from django.db import connections
        connections.close_all()

    def get_all_checkpoints(self):
        row = self._model().objects.filter(key=self.key).first()
        return json.loads(row.checkpoints) if row is not None and row.checkpoints else {}
