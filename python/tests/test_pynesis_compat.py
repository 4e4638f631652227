"""pynesis's documented usage runs unchanged on cinesis (docs/python.md lists the fixes)."""

import json
import threading
import time
import unittest

import support
from support import needs_library, unique

import cinesis
from pynesis import backends, checkpointers, streams


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


if __name__ == '__main__':
    unittest.main()
