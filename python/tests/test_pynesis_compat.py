"""pynesis's documented usage runs unchanged on cinesis (docs/python.md lists the fixes)."""

import json
import logging
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import unittest

import support
from support import needs_library, unique

import cinesis
from pynesis import backends, checkpointers, streams

PY2 = sys.version_info[0] == 2
TEXT = unicode if PY2 else str  # noqa: F821

try:
    from unittest import mock
except ImportError:  # Python 2.7: the mock backport, when installed
    try:
        import mock
    except ImportError:
        mock = None


def run_in_thread(fn, timeout=10):
    """fn()'s result, or ('HUNG',) when it does not return within timeout seconds."""
    box = []

    def run():
        try:
            box.append(('ok', fn()))
        except Exception as e:  # noqa: B902 - reported to the test
            box.append(('exc', e))
    t = threading.Thread(target=run)
    t.daemon = True
    t.start()
    t.join(timeout)
    return box[0] if box else ('HUNG',)


class PaginatorFake(object):
    """A boto3-like fake written the way pynesis's own tests write it: the shard list only
    through get_paginator("describe_stream"), records with only Data and SequenceNumber."""

    def __init__(self):
        self.calls = []

    def get_paginator(self, op):
        self.calls.append(('get_paginator', op))
        fake = self

        class Pages(object):
            def paginate(self, **kw):
                fake.calls.append(('paginate', kw))
                return [{'StreamDescription': {'Shards': [{'ShardId': 'shard1'}]}}]
        return Pages()

    def get_shard_iterator(self, **kw):
        self.calls.append(('get_shard_iterator', kw))
        return {'ShardIterator': 'iterator1'}

    def get_records(self, **kw):
        self.calls.append(('get_records', kw))
        return {'Records': [{'Data': b'{"_key":"1"}', 'SequenceNumber': 'sequence1'},
                            {'Data': b'{"_key":"2"}', 'SequenceNumber': 'sequence2'}],
                'NextShardIterator': 'iterator2'}

    def put_record(self, **kw):
        self.calls.append(('put_record', kw))
        return {'ShardId': 'shard1', 'SequenceNumber': '1'}


class ThreadCheckingCheckpointer(checkpointers.Checkpointer):
    """A user's own checkpointer on a thread-bound resource (a sqlite3 connection, usable
    only on the thread that made it), implementing only what pynesis's KinesisStream calls
    (no get_all_checkpoints)."""

    def __init__(self, path):
        self.db = sqlite3.connect(path)
        self.db.execute('create table if not exists cp (shard text primary key, seq text)')
        self.threads = set()

    def checkpoint(self, shard_id, sequence):
        self.threads.add(threading.current_thread().name)
        self.db.execute('insert or replace into cp values (?, ?)', (shard_id, sequence))
        self.db.commit()

    def get_checkpoint(self, shard_id):
        self.threads.add(threading.current_thread().name)
        row = self.db.execute('select seq from cp where shard = ?', (shard_id,)).fetchone()
        return row[0] if row else None

    def rows(self):
        return dict(self.db.execute('select shard, seq from cp').fetchall())


class FakeBotoKinesis(object):
    """An object with boto3's Kinesis methods (what pynesis users pass as kinesis_client in
    tests), backed by LocalKinesis so it behaves like Kinesis, closed shards included."""

    def __init__(self, local):
        self.local = local
        self.calls = []

    def _call(self, op, **kw):
        self.calls.append(op)
        return self.local.call(op, **kw)

    def describe_stream(self, **kw):
        return self._call('DescribeStream', **kw)

    def get_shard_iterator(self, **kw):
        return self._call('GetShardIterator', **kw)

    def get_records(self, **kw):
        return self._call('GetRecords', **kw)

    def put_record(self, **kw):
        return self._call('PutRecord', **kw)


@needs_library
class PynesisCompatTest(unittest.TestCase):
    def setUp(self):
        self.local = cinesis.LocalKinesis()
        self.name = unique('pyn')
        self.local.create_stream(self.name, shard_count=1)

    def tearDown(self):
        self.local.close()

    def _kinesis_stream(self, **kw):
        return streams.KinesisStream(self.name, 'us-east-1', read_interval=0.05,
                                     kinesis_client=self.local, **kw)

    def test_reading_loop_with_stop_and_put(self):
        stream = self._kinesis_stream()
        for i in range(5):
            stream.put('key', ('m%d' % i).encode('ascii'))
        got = []
        for record in stream.read():
            got.append(record.data)
            self.assertTrue(hasattr(record.approximate_arrival_timestamp, 'year'))
            if len(got) == 5:
                stream.stop()
        self.assertEqual(got, [('m%d' % i).encode('ascii') for i in range(5)])

    def test_checkpointer_resume(self):
        cp = checkpointers.InMemoryCheckpointer()
        stream = self._kinesis_stream(checkpointer=cp)
        for i in range(4):
            stream.put('k', ('a%d' % i).encode('ascii'))
        got = []
        for record in stream.read():
            got.append(record)
            if len(got) == 4:
                stream.stop()
        self.assertEqual(cp.get_checkpoint(got[-1].shard_id), got[-1].sequence_number)
        stream.put('k', b'after')
        stream2 = self._kinesis_stream(checkpointer=cp)
        again = []
        for record in stream2.read():
            again.append(record.data)
            stream2.stop()
        self.assertEqual(again, [b'after'])

    def test_fake_client_closed_shard_and_parent_before_child(self):
        fake = FakeBotoKinesis(self.local)
        stream = streams.KinesisStream(self.name, 'us-east-1', kinesis_client=fake,
                                       batch_size=3, read_interval=0.01,
                                       shard_sync_interval=0.05)
        for i in range(10):
            stream.put('same', ('a%d' % i).encode('ascii'))
        self.local.update_shard_count(self.name, 2)
        for i in range(10):
            stream.put('same', ('b%d' % i).encode('ascii'))
        got = []
        stopper = threading.Timer(30, stream.stop)
        stopper.start()
        for record in stream.read():
            got.append(record.data)
            if len(got) == 20:
                stream.stop()
        stopper.cancel()
        self.assertEqual(got, [('a%d' % i).encode('ascii') for i in range(10)]
                         + [('b%d' % i).encode('ascii') for i in range(10)])
        self.assertIn('DescribeStream', fake.calls)

    def test_stop_from_another_thread_wakes_the_sleep(self):
        fake = FakeBotoKinesis(self.local)
        stream = streams.KinesisStream(self.name, 'us-east-1', kinesis_client=fake,
                                       read_interval=30)
        done = threading.Event()

        def run():
            for _ in stream.read():
                pass
            done.set()
        t = threading.Thread(target=run)
        t.daemon = True
        t.start()
        time.sleep(0.3)
        stream.stop()
        self.assertTrue(done.wait(5), 'stop() waited for read_interval')

    def test_dummy_stream_reads_back_what_was_put(self):
        d = streams.DummyStream(fake_values=[b'x', b'y'], loop=False)
        d.put('k', b'z')
        got = []
        for r in d.read():
            got.append(r.data)
            if len(got) == 3:
                d.stop()
        self.assertEqual(got, [b'x', b'y', b'z'])

    def test_backends_json(self):
        b = backends.KinesisBackend(self.name, kinesis_client=self.local)
        b.put('k', {'a': 1})
        for rec in b.read():
            self.assertEqual(rec, {'a': 1})
            b.stop()
        d = backends.DummyBackend(fake_values=[{'n': 1}], loop=False)
        for rec in d.read():
            self.assertEqual(rec, {'n': 1})
            d.stop()

    # -- regressions: A (loop=False), B (stop before the first record), C (text keys), D
    # (the user's checkpointer on the reading thread), F (pynesis-style fakes), G (bases,
    # non-JSON) -------------------------------------------------------------------------
    def test_dummy_without_loop_ends_after_its_values(self):
        d = streams.DummyStream([b'a', b'b'], loop=False)
        got = run_in_thread(lambda: [r.data for r in d.read()], 5)
        self.assertEqual(got, ('ok', [b'a', b'b']))
        d = streams.DummyStream([b'a'], False)  # positional, as pynesis
        d.put('k', b'put')
        self.assertEqual(run_in_thread(lambda: [r.data for r in d.read()], 5),
                         ('ok', [b'a', b'put']))
        self.assertEqual(run_in_thread(lambda: list(streams.DummyStream(loop=False).read()),
                                       5), ('ok', []))
        b = backends.DummyBackend([{'a': 1}], loop=False)
        self.assertEqual(run_in_thread(lambda: list(b.read()), 5), ('ok', [{'a': 1}]))

    def test_dummy_with_loop_cycles_its_values(self):
        d = streams.DummyStream([b'x', b'y'])
        got = []
        for r in d.read():
            got.append(r.data)
            if len(got) == 5:
                d.stop()
        self.assertEqual(got, [b'x', b'y', b'x', b'y', b'x'])

    def test_stop_before_the_first_record_ends_read(self):
        fake = FakeBotoKinesis(self.local)
        made = [lambda: self._kinesis_stream(),
                lambda: streams.KinesisStream(self.name, 'us-east-1', kinesis_client=fake,
                                              read_interval=0.05),
                lambda: streams.DummyStream([b'a']),
                lambda: backends.KinesisBackend(self.name, kinesis_client=self.local,
                                                read_interval=0.05),
                lambda: backends.DummyBackend([{'a': 1}])]
        self.local.put_record(self.name, b'{}', 'k')
        for make in made:
            s = make()
            g = s.read()
            s.stop()  # e.g. a SIGTERM handler before the first record
            self.assertEqual(run_in_thread(lambda: list(g), 5), ('ok', []), type(s))
            # pynesis's stop flag stays set: a later read() returns at once too
            self.assertEqual(run_in_thread(lambda: list(s.read()), 5), ('ok', []), type(s))

    def test_cinesis_stream_stop_before_read_applies_to_the_next_read(self):
        stream = cinesis.Stream(self.name, client=self.local, application='a',
                                idle_backoff=0.01)
        stream.put(b'x', partition_key='k')
        g = stream.read()
        stream.stop()
        self.assertEqual(run_in_thread(lambda: list(g), 5), ('ok', []))

        def one():  # the stop was consumed: this read runs
            for r in stream.read():
                stream.stop()
                return r.data
        self.assertEqual(run_in_thread(one, 10), ('ok', b'x'))

    def test_partition_key_is_text(self):
        stream = self._kinesis_stream()
        stream.put(u'uni\xe9', b'x')
        fake = PaginatorFake()
        fake_stream = streams.KinesisStream('s', 'us-east-1', kinesis_client=fake)
        dummy = streams.DummyStream([b'd'])
        for s, key in ((stream, u'uni\xe9'), (dummy, u'dummy')):
            for r in s.read():
                self.assertIsInstance(r.partition_key, TEXT)
                self.assertEqual(r.partition_key, key)
                s.stop()
        # cinesis's own Record keeps the native str (bytes on Python 2), by design
        with self.local.consumer(self.name, 'own') as c:
            r = support.read_until(c, 1)[0]
            self.assertIsInstance(r.partition_key, str)
        fake_stream.stop()

    def _thread_checked(self, reshard):
        tmp = tempfile.mkdtemp(prefix='cinesis-cp-')
        self.addCleanup(shutil.rmtree, tmp, True)
        cp = ThreadCheckingCheckpointer(os.path.join(tmp, 'cp.db'))
        self.addCleanup(cp.db.close)
        me = threading.current_thread().name
        stream = self._kinesis_stream(checkpointer=cp)
        for i in range(3):
            stream.put('k%d' % i, ('a%d' % i).encode('ascii'))
        got = []
        stopper = threading.Timer(30, stream.stop)
        stopper.start()
        try:
            for record in stream.read():
                got.append(record.data)
                if len(got) == 3 and reshard:
                    # children appear while reading: their checkpoints are asked by the
                    # consumer's threads, the parent's SHARD_END saved by one
                    self.local.update_shard_count(self.name, 2)
                    for i in range(6):
                        stream.put('k%d' % i, ('b%d' % i).encode('ascii'))
                if len(got) == (9 if reshard else 3):
                    stream.stop()
        finally:
            stopper.cancel()
        self.assertEqual(sorted(got), sorted([('a%d' % i).encode('ascii') for i in range(3)]
                                             + ([('b%d' % i).encode('ascii') for i in range(6)]
                                                if reshard else [])))
        self.assertEqual(cp.threads, set([me]))
        return cp

    def test_user_checkpointer_is_called_on_the_reading_thread(self):
        cp = self._thread_checked(reshard=False)
        self.assertEqual(list(cp.rows()), ['shardId-000000000000'])
        # resumes from it (get_checkpoint on the reading thread again)
        stream = self._kinesis_stream(checkpointer=cp)
        stream.put('k', b'after')
        for record in stream.read():
            self.assertEqual(record.data, b'after')
            stream.stop()

    def test_user_checkpointer_on_the_reading_thread_across_a_reshard(self):
        cp = self._thread_checked(reshard=True)
        rows = cp.rows()
        self.assertEqual(rows.get('shardId-000000000000'), 'SHARD_END')
        self.assertEqual(len(rows), 3)

    def test_fake_client_written_like_pynesis_tests(self):
        fake = PaginatorFake()
        s = streams.KinesisStream(stream_name='test-stream', region_name='us-east-1',
                                  batch_size=10, kinesis_client=fake)
        self.assertEqual(s.put('k', b'd').sequence_number, '1')
        g = s.read()
        got = run_in_thread(lambda: [next(g).data, next(g).data], 5)
        self.assertEqual(got, ('ok', [b'{"_key":"1"}', b'{"_key":"2"}']))
        self.assertIn(('get_paginator', 'describe_stream'), fake.calls)
        self.assertIn(('get_shard_iterator', {'StreamName': 'test-stream', 'ShardId': 'shard1',
                                              'ShardIteratorType': 'TRIM_HORIZON'}),
                      fake.calls)
        self.assertIn(('get_records', {'ShardIterator': 'iterator1', 'Limit': 10}), fake.calls)
        s.stop()
        g.close()
        b = backends.KinesisBackend('test-stream', kinesis_client=PaginatorFake())
        g = b.read()
        self.assertEqual(run_in_thread(lambda: next(g), 5), ('ok', {'_key': '1'}))
        b.stop()

    @unittest.skipIf(mock is None, 'mock not installed')
    def test_magicmock_client_like_pynesis_conftest(self):
        m = mock.MagicMock()
        m.get_paginator.return_value.paginate.side_effect = [
            [{'StreamDescription': {'Shards': [{'ShardId': 'shard1'}]}}]]
        m.get_shard_iterator.return_value = {'ShardIterator': 'iterator1'}
        m.get_records.return_value = {
            'Records': [{'Data': '{"_key":"1"}', 'SequenceNumber': 'sequence1'}],
            'NextShardIterator': 'iterator2'}
        cp = checkpointers.InMemoryCheckpointer()
        s = streams.KinesisStream(stream_name='test-stream', region_name='us-east-1',
                                  batch_size=10, kinesis_client=m, checkpointer=cp)
        g = s.read()
        self.assertEqual(run_in_thread(lambda: next(g).data, 5), ('ok', '{"_key":"1"}'))
        self.assertEqual(run_in_thread(lambda: next(g).data, 5), ('ok', '{"_key":"1"}'))
        s.stop()
        g.close()
        self.assertEqual(cp.get_checkpoint('shard1'), 'sequence1')
        m.get_paginator.assert_called_with('describe_stream')

    def test_base_classes_stop_sets_the_flag(self):
        class Mine(streams.Stream):
            def read(self):
                while not self._stop:
                    yield b'x'

            def put(self, key, data):
                pass

        class MyBackend(backends.Backend):
            def read(self):
                while not self._stop:
                    yield {}
        for s in (Mine(), MyBackend()):
            n = 0
            for _ in s.read():
                n += 1
                if n == 3:
                    s.stop()
            self.assertEqual(n, 3)

    def test_backend_non_json_record_is_logged_and_empty(self):
        self.local.put_record(self.name, b'not json', 'k')
        self.local.put_record(self.name, b'\xff\xfe', 'k')
        self.local.put_record(self.name, b'{"ok": 1}', 'k')
        b = backends.KinesisBackend(self.name, kinesis_client=self.local, read_interval=0.05)
        logged = []

        class Catch(logging.Handler):
            def emit(self, record):
                logged.append(record.getMessage())
        handler = Catch()
        logging.getLogger('pynesis.backends').addHandler(handler)
        try:
            got = []
            for rec in b.read():
                got.append(rec)
                if len(got) == 3:
                    b.stop()
        finally:
            logging.getLogger('pynesis.backends').removeHandler(handler)
        self.assertEqual(got, [{}, {}, {'ok': 1}])
        self.assertEqual(len(logged), 2)

    def test_errors_without_a_boto_client_are_cinesis_classes(self):
        s = streams.KinesisStream('no-such-stream', 'us-east-1', kinesis_client=self.local)
        with self.assertRaises(cinesis.ResourceNotFoundException) as ctx:
            s.put('k', b'x')
        try:
            from botocore.exceptions import ClientError
        except ImportError:
            return
        self.assertNotIsInstance(ctx.exception, ClientError)


if __name__ == '__main__':
    unittest.main()
