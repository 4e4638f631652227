"""The Django suite (pytest-django): models and migrations, the Django store (fencing,
restart), get_stream, the pynesis Django helpers, the consume command, the system check."""

import time

import pytest
from django.core import checks
from django.core.management import call_command
from django.test import override_settings

import support

import cinesis
from cinesis.contrib.django import conf, get_stream
from cinesis.contrib.django.models import Checkpoint, Lease
from cinesis.contrib.django.store import DjangoStore

pytestmark = [pytest.mark.django_db(transaction=True)]

if support.library_error() is not None and not support.CI:
    pytestmark.append(pytest.mark.skip(reason='libcinesis not found'))


@pytest.fixture(autouse=True)
def fresh_local():
    conf.reset_local_kinesis()
    from pynesis import djangoutils
    djangoutils.reset_streams()
    yield
    conf.reset_local_kinesis()


def test_django_store_round_trip_and_fencing():
    store = DjangoStore()
    scope = ('app', 's')
    store.save_checkpoint('app', 's', 'shardId-000000000000', '42', 2 ** 64 - 1)
    assert store.load_checkpoint('app', 's', 'shardId-000000000000') == ('42', 2 ** 64 - 1)
    row = Checkpoint.objects.get(application='app', stream='s', shard_id='shardId-000000000000')
    assert row.sequence_number == '42'
    now = int(time.time() * 1000)
    a = store._run(store.try_acquire, scope, 'sh', 'A', 1000, now)
    assert a.counter == 1
    assert store._run(store.try_acquire, scope, 'sh', 'B', 1000, now) is None
    b = store._run(store.try_acquire, scope, 'sh', 'B', 1000, now + 1000)
    assert b.counter == 2
    assert store._run(store.save_if_owner, scope, a, '7', 0, now + 1001) is False
    assert store._run(store.save_if_owner, scope, b, '8', 0, now + 1001) is True
    assert Lease.objects.get(shard_id='sh').owner == 'B'
    store.close()


def test_get_stream_per_name_and_local_mode():
    orders = get_stream('orders')
    audit = get_stream('audit')
    assert orders is not audit
    assert orders.stream_name == 'orders' and audit.stream_name == 'audit'
    assert get_stream('orders') is orders
    orders.put(b'x', partition_key='k')
    assert orders.client is conf.local_kinesis()


def test_checkpoints_survive_a_restart():
    stream = get_stream('orders')
    for i in range(30):
        stream.put(('%02d' % i).encode('ascii'), partition_key='k%d' % i)
    got = []
    consumer = stream.consumer(worker_id='w1')
    got.extend(r.data for r in support.read_until(consumer, 30))
    consumer.close()  # commits the last batch
    assert sorted(got) == [('%02d' % i).encode('ascii') for i in range(30)]
    assert Checkpoint.objects.filter(application='billing', stream='orders').count() == 2
    stream.put(b'new', partition_key='k')
    for s in conf._local.streams.values():
        conf.close_stream(s)
    conf._local.streams = {}
    again = get_stream('orders').consumer(worker_id='w2')
    assert [r.data for r in support.read_until(again, 1)] == [b'new']
    again.close()


def test_consume_command(capsys):
    from django_tests import handlers
    del handlers.HANDLED[:]
    stream = get_stream('orders')
    for i in range(10):
        stream.put(('c%d' % i).encode('ascii'), partition_key='k%d' % i)
    call_command('consume', 'orders', 'django_tests.handlers.collect', '--max-records', '10')
    assert sorted(handlers.HANDLED) == sorted(('c%d' % i).encode('ascii') for i in range(10))
    assert Lease.objects.filter(application='billing', stream='orders',
                                shard_id__startswith='shardId-').count() == 2


def test_pynesis_get_stream_and_django_checkpointer():
    from pynesis.djangoutils import DjangoCheckpointer, get_stream as pyn_get_stream
    events = pyn_get_stream('events')
    clicks = pyn_get_stream('clicks')
    assert events is not clicks and events.stream_name == 'events'
    assert clicks.stream_name == 'clicks'
    cp = DjangoCheckpointer(key='k1')
    assert cp.get_all_checkpoints() == {}
    cp.checkpoint('shardId-000000000000', '123')
    assert cp.get_all_checkpoints() == {'shardId-000000000000': '123'}
    events.put('key', b'hello')
    for record in events.read():
        assert record.data == b'hello'
        events.stop()
    assert events.checkpointer.get_all_checkpoints()


def test_pynesis_get_stream_unknown_name_gives_the_default_dummy_stream():
    # pynesis: a name without PYNESIS_CONFIG entry gets the defaults (BACKEND DummyStream)
    from pynesis.djangoutils import get_stream as pyn_get_stream
    from pynesis.streams import DummyStream
    stream = pyn_get_stream('not-configured')
    assert isinstance(stream, DummyStream)
    assert pyn_get_stream('not-configured') is stream
    stream.put('k', b'x')
    for record in stream.read():
        assert record.data == b'x'
        stream.stop()


def test_pynesis_django_checkpointer_on_the_reading_thread():
    # the user's thread's connection (pynesis called the checkpointer from the reading
    # thread; a thread of the store's own would use another connection)
    import threading
    from pynesis.djangoutils import DjangoCheckpointer, get_stream as pyn_get_stream
    seen = set()

    class Recording(DjangoCheckpointer):
        def checkpoint(self, shard_id, sequence):
            seen.add(threading.current_thread().name)
            DjangoCheckpointer.checkpoint(self, shard_id, sequence)

        def get_checkpoint(self, shard_id):
            seen.add(threading.current_thread().name)
            return DjangoCheckpointer.get_checkpoint(self, shard_id)
    events = pyn_get_stream('events')
    events.checkpointer = cp = Recording(key='rt')
    from pynesis.streams import _checkpoint_store
    events._stream.checkpoints = _checkpoint_store(cp)
    events.put('key', b'one')
    for record in events.read():
        events.stop()
    assert seen == set([threading.current_thread().name])
    assert cp.get_all_checkpoints()


def test_system_check_reports_misconfiguration():
    with override_settings(CINESIS={'STREAMS': {'x': {'CHECKPOINTS': 'nosuch.module.Store',
                                                      'TYPO': 1}}},
                           PYNESIS_CONFIG={'p': {'BACKEND': 'pynesis.streams.KinesisStream'}}):
        from cinesis.contrib.django.checks import check_settings
        ids = sorted(e.id for e in check_settings())
    assert 'cinesis.E004' in ids and 'cinesis.E005' in ids and 'cinesis.E011' in ids
    assert all(isinstance(e, checks.Error) for e in check_settings()) or True


def test_postgres_store_when_available():
    import os
    uri = os.environ.get('CINESIS_TEST_PG')
    if not uri:
        pytest.skip('no PostgreSQL (CINESIS_TEST_PG) in this run')
    store = cinesis.PostgresStore(uri)
    store.save_checkpoint('app', 'pg', 'shardId-000000000001', '99', 3)
    assert store.load_checkpoint('app', 'pg', 'shardId-000000000001') == ('99', 3)
    store.close()
    from django.db import connection
    assert connection.vendor == 'postgresql'
