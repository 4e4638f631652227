"""pynesis.checkpointers on cinesis: Checkpointer, InMemoryCheckpointer, RedisCheckpointer.

The consumer checkpoints once per batch your code has handled (pynesis: once per record),
so a Redis round trip is no longer paid per record.
"""

import threading

from cinesis.stores import Checkpointer, InMemoryCheckpointer  # noqa: F401


class RedisCheckpointer(Checkpointer):
    """pynesis's layout: one Redis hash per stream (``key``), field = shard id, value =
    sequence number, so checkpoints written by pynesis are resumed from. Needs redis-py."""

    def __init__(self, redis_host='localhost', redis_port=6379, redis_db=0, redis_timeout=1,
                 key='kinesis:sequences', redis_password=None):
        import redis
        self._key = key
        self._client = redis.StrictRedis(host=redis_host, port=redis_port, db=redis_db,
                                         password=redis_password,
                                         socket_timeout=redis_timeout)
        self._lock = threading.Lock()
        self._cache = None

    @staticmethod
    def _text(v):
        return v.decode('utf-8') if isinstance(v, bytes) and not isinstance(v, str) else v

    def checkpoint(self, shard_id, sequence):
        self._client.hset(self._key, shard_id, sequence)
        with self._lock:
            if self._cache is not None:
                self._cache[shard_id] = sequence

    def get_checkpoint(self, shard_id):
        return self.get_all_checkpoints().get(shard_id)

    def get_all_checkpoints(self):
        with self._lock:
            if self._cache is None:
                raw = self._client.hgetall(self._key) or {}
                self._cache = dict((self._text(k), self._text(v)) for k, v in raw.items())
            return dict(self._cache)
