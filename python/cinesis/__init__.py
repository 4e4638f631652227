"""cinesis: Kinesis Data Streams for Python over libcinesis (the C++ toolkit's C ABI).

    import cinesis
    kinesis = cinesis.Client(endpoint='http://127.0.0.1:4567')   # or cinesis.LocalKinesis()
    kinesis.create_stream('orders', shard_count=2)
    with kinesis.producer('orders') as producer:
        producer.put(b'hello', partition_key='k1')
    with kinesis.consumer('orders', 'billing',
                          checkpoints=cinesis.SqliteStore('billing.db')) as consumer:
        for record in consumer:
            handle(record.data)

Pure Python (ctypes): one built libcinesis serves CPython 2.7 and 3.6+. See docs/python.md.
"""

from ._lib import LibraryNotFoundError, library_path
from .errors import *  # noqa: F401,F403  (the exception hierarchy)
from .errors import KinesisError, CinesisError, ClosedError, error_from_code  # noqa: F401
from .client import Client, LocalKinesis, PutResult  # noqa: F401
from .producer import (Producer, Delivery, DeliveryFuture, DeliveryError,  # noqa: F401
                       BatchFuture)
from .consumer import Consumer, Record, RecordBatch, Event  # noqa: F401
from .stores import (Store, MemoryStore, SqliteStore, RedisStore, PostgresStore,  # noqa: F401
                     PythonStore, Lease, Checkpointer, InMemoryCheckpointer,
                     CheckpointerStore)
from .stream import Stream  # noqa: F401

__version__ = '0.1.0'


def library_version():
    """The version string of the libcinesis actually loaded."""
    from . import _lib
    return _lib.load().cinesis_version().decode('ascii')
