"""Core suite: client, producer, consumer, stores, errors; against LocalKinesis and, when the
binary is built, against a real `cinesis serve` (same tests)."""

import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import support
from support import needs_library, unique

import cinesis


class Base(object):
    """The tests; subclasses give make_client()."""

    def setUp(self):
        self.client = self.make_client()
        self.stream = unique('py')
        self.client.create_stream(self.stream, shard_count=2)

    def tearDown(self):
        try:
            self.client.delete_stream(self.stream)
        except cinesis.KinesisError:
            pass
        self.close_client()

    # -- errors ------------------------------------------------------------------------
    def test_missing_stream_is_resource_not_found_with_aws_text(self):
        with self.assertRaises(cinesis.ResourceNotFoundException) as cm:
            self.client.describe_stream('no-such-stream')
        e = cm.exception
        self.assertIsInstance(e, cinesis.KinesisError)
        self.assertIs(cinesis.ResourceNotFoundError, cinesis.ResourceNotFoundException)
        self.assertEqual(e.name, 'ResourceNotFoundException')
        self.assertIn('Stream no-such-stream under account', e.message)
        self.assertIn('not found', e.message)
        self.assertTrue(str(e).startswith('ResourceNotFoundException: '))

    def test_put_to_missing_stream_fails_record(self):
        with self.assertRaises(cinesis.ResourceNotFoundException):
            self.client.put_record('no-such-stream', b'x', 'k')

    def test_invalid_argument_and_wrong_types(self):
        for bad in (0, -1):
            with self.assertRaises(cinesis.ValidationException) as cm:
                self.client.create_stream(unique('bad'), shard_count=bad)
            self.assertIn('shardCount', cm.exception.message)
        with self.assertRaises(TypeError):
            self.client.put_record(self.stream, 12345, 'k')
        with self.assertRaises(TypeError):
            self.client.put_record(self.stream, b'x', 42)
        with self.assertRaises(TypeError):
            self.client.create_stream(unique('bad'), shard_count='2')

    def test_generic_call_and_admin(self):
        self.assertIn(self.stream, self.client.list_streams())
        summary = self.client.describe_stream(self.stream)
        self.assertEqual(summary['StreamStatus'], 'ACTIVE')
        self.assertEqual(summary['OpenShardCount'], 2)
        self.assertEqual(len(self.client.list_shards(self.stream)), 2)
        r = self.client.put_record(self.stream, b'\x00\x01binary', 'k1')
        self.assertTrue(r.sequence_number.isdigit())
        it = self.client.call('GetShardIterator', StreamName=self.stream, ShardId=r.shard_id,
                              ShardIteratorType='TRIM_HORIZON')['ShardIterator']
        got = self.client.call('GetRecords', ShardIterator=it)
        self.assertEqual(got['Records'][0]['Data'], b'\x00\x01binary')
        self.assertTrue(hasattr(got['Records'][0]['ApproximateArrivalTimestamp'], 'year'))

    # -- producer ----------------------------------------------------------------------
    def test_producer_10000_records_with_results(self):
        seen = []
        with self.client.producer(self.stream, linger=0.01) as producer:
            futures = [producer.put(('r%05d' % i).encode('ascii'), partition_key='k%d' % (i % 97))
                       for i in range(10000)]
            futures[0].add_done_callback(lambda f: seen.append(f.result().sequence_number))
            producer.flush(timeout=120)
            results = [f.result(timeout=60) for f in futures]
        self.assertEqual(len(results), 10000)
        self.assertTrue(all(r.ok and r.sequence_number and r.shard_id for r in results))
        self.assertEqual(len(set((r.shard_id, r.sequence_number) for r in results)), 10000)
        self.assertEqual(seen, [results[0].sequence_number])

    def test_producer_callbacks_and_put_batch(self):
        got = []
        with self.client.producer(self.stream) as producer:
            futs = producer.put_batch([(b'a', 'k1'), {'data': b'b', 'partition_key': 'k2'}, b'c'],
                                      callback=got.append)
            producer.flush(timeout=60)
        self.assertEqual(len(got), 3)
        self.assertTrue(all(d.ok for d in got))
        self.assertTrue(all(f.done() for f in futs))

    def test_closed_producer_raises(self):
        producer = self.client.producer(self.stream)
        producer.put(b'x', partition_key='k').result(timeout=60)
        producer.close()
        with self.assertRaises(cinesis.ClosedError) as cm:
            producer.put(b'y', partition_key='k')
        self.assertIsInstance(cm.exception, cinesis.FailedPreconditionError)
        producer.close()  # idempotent

    def test_failed_records_are_never_silently_dropped(self):
        producer = self.client.producer(unique('missing'), record_ttl=2)
        producer.put(b'x', partition_key='k')
        with self.assertRaises(cinesis.DeliveryError) as cm:
            producer.close(timeout=30)
        self.assertEqual(len(cm.exception.failures), 1)
        self.assertIsInstance(cm.exception.failures[0].error, cinesis.KinesisError)

    # -- put_many (the fast path) --------------------------------------------------------
    def _read_all(self, n, application):
        """{data: partition_key} of n records, read with poll_batch."""
        got = {}
        with self.client.consumer(self.stream, application) as consumer:
            deadline = time.time() + 60
            while len(got) < n and time.time() < deadline:
                batch = consumer.poll_batch(0.2)
                got.update(zip(batch.data, batch.partition_keys))
        return got

    def test_put_many_stores_every_record_with_its_key(self):
        non_ascii = u'cl\u00e9-\u043a\u043b\u044e\u0447'
        data = [('m%04d' % i).encode('ascii') for i in range(1500)]
        keys = [non_ascii if i % 100 == 0 else u'k%d' % (i % 13) for i in range(1500)]
        done = []
        with self.client.producer(self.stream) as producer:
            f1 = producer.put_many(data, partition_keys=keys, callback=done.append)
            # text data (UTF-8), a bytearray, one shared key
            f2 = producer.put_many([u'caf\u00e9', bytearray(b'ba'), b''], partition_key='same')
            f3 = producer.put_many([b'random-1', b'random-2'])  # a random key per record
            f4 = producer.put_many([])
            producer.flush(timeout=60)
            self.assertEqual(f1.result(timeout=10), 1500)
            self.assertEqual(f2.result(timeout=10), 3)
            self.assertEqual(f3.result(timeout=10), 2)
            self.assertEqual(f4.result(timeout=10), 0)
        self.assertEqual(done, [f1])
        self.assertTrue(f1.done() and f1.failures == [])
        got = self._read_all(1505, 'put-many')
        want = dict(zip(data, keys))
        want.update({u'caf\u00e9'.encode('utf-8'): 'same', b'ba': 'same', b'': 'same'})
        if sys.version_info[0] == 2:
            want = dict((k, v.encode('utf-8') if not isinstance(v, bytes) else v)
                        for k, v in want.items())
        for k in (b'random-1', b'random-2'):
            self.assertEqual(len(got.pop(k)), 32)
        self.assertEqual(got, want)

    def test_put_many_failures_are_reported_per_record(self):
        producer = self.client.producer(unique('missing'), record_ttl=1)
        fut = producer.put_many([b'a', b'bb', b'ccc'], partition_keys=['x', 'y', 'z'])
        with self.assertRaises(cinesis.DeliveryError) as cm:
            fut.result(timeout=60)
        failures = sorted(cm.exception.failures, key=lambda d: d.user_data)
        self.assertEqual([d.user_data for d in failures], [0, 1, 2])  # the indexes
        self.assertEqual([d.partition_key for d in failures], ['x', 'y', 'z'])
        self.assertTrue(all(isinstance(d.error, cinesis.KinesisError) for d in failures))
        self.assertIsInstance(fut.exception(), cinesis.DeliveryError)
        producer.close(timeout=30)  # observed: no DeliveryError here
        # Nobody looks: close raises them, never silently dropped.
        producer = self.client.producer(unique('missing'), record_ttl=1)
        producer.put_many([b'a', b'b'], partition_key='k')
        with self.assertRaises(cinesis.DeliveryError) as cm:
            producer.close(timeout=30)
        self.assertEqual(len(cm.exception.failures), 2)

    def test_put_many_bad_input(self):
        with self.client.producer(self.stream) as producer:
            with self.assertRaises(ValueError):
                producer.put_many([b'a', b'b'], partition_keys=['k'])
            with self.assertRaises(ValueError):
                producer.put_many([b'a'], partition_keys=['k\0'])
            with self.assertRaises(TypeError):
                producer.put_many([12345], partition_key='k')
            with self.assertRaises(TypeError):
                producer.put_many([b'a'], partition_keys=[42])
            with self.assertRaises(cinesis.ValidationException) as cm:
                producer.put_many([b'1', b'2', b'3'], partition_keys=['a', '', 'c'])
            self.assertEqual(cm.exception.accepted, 1)
            self.assertEqual(cm.exception.batch.result(timeout=60), 1)
        with self.assertRaises(cinesis.ClosedError):
            producer.put_many([b'x'], partition_key='k')

    # -- consumer ----------------------------------------------------------------------
    def test_poll_batch_columns_match_the_records(self):
        with self.client.producer(self.stream) as producer:
            producer.put_batch([{'data': b'hashed', 'partition_key': 'h',
                                 'explicit_hash_key': '12345'}])
            producer.put_many([('c%03d' % i).encode('ascii') for i in range(300)],
                              partition_keys=[u'k\u00e9%d' % (i % 5) for i in range(300)])
            producer.flush(timeout=60)
        batches = []
        with self.client.consumer(self.stream, 'columns', max_records_per_call=50) as consumer:
            deadline = time.time() + 60
            while sum(len(b) for b in batches) < 301 and time.time() < deadline:
                b = consumer.poll_batch(0.2)
                if len(b):
                    batches.append(b)
        self.assertEqual(sum(len(b) for b in batches), 301)
        seen = set()
        for b in batches:
            recs = b.records()
            self.assertEqual(len(recs), len(b))
            self.assertEqual([r.data for r in recs], b.data)
            self.assertEqual([r.partition_key for r in recs], b.partition_keys)
            self.assertEqual([r.sequence_number for r in recs], b.sequence_numbers)
            self.assertEqual([r.shard_id for r in recs], b.shard_ids)
            self.assertEqual([r.arrival_ms for r in recs], b.arrival_ms)
            self.assertEqual([r.explicit_hash_key for r in recs], b.explicit_hash_keys)
            self.assertEqual(list(b), recs)
            self.assertIs(b[0], recs[0])
            for r in recs:
                self.assertTrue(r.shard_id.startswith('shardId-'))
                self.assertTrue(r.sequence_number.isdigit())
                self.assertGreater(r.arrival_ms, 0)
                self.assertFalse(r.aggregated)
                seen.add(r.data)
                # GetRecords does not return a plain record's ExplicitHashKey
                self.assertIsNone(r.explicit_hash_key)
                if r.data == b'hashed':
                    self.assertEqual(r.partition_key, 'h')
                else:
                    want = u'k\u00e9%d' % (int(r.data[1:]) % 5)
                    if sys.version_info[0] == 2:
                        want = want.encode('utf-8')
                    self.assertEqual(r.partition_key, want)
            # sequence numbers increase per shard within the batch
            per_shard = {}
            for shard, seq in zip(b.shard_ids, b.sequence_numbers):
                self.assertGreater(int(seq), per_shard.get(shard, -1))
                per_shard[shard] = int(seq)
        self.assertEqual(len(seen), 301)
        # A closed batch keeps what was read; unread columns are gone.
        b = batches[0]
        b.close()
        self.assertEqual(len(b.data), len(b))
        del b._cache['arrival_ms']  # as if never read
        with self.assertRaises(cinesis.ClosedError):
            b.arrival_ms
        self.assertIsInstance(b, cinesis.RecordBatch)
        b.close()  # idempotent

    # -- consumer ----------------------------------------------------------------------
    def _produce(self, n):
        with self.client.producer(self.stream) as producer:
            for i in range(n):
                producer.put(('%06d' % i).encode('ascii'), partition_key='k%d' % i)
            producer.flush(timeout=120)

    def test_consumer_reads_all_no_missing_no_dup_and_resumes(self):
        n = 3000
        self._produce(n)
        path = os.path.join(tempfile.mkdtemp(), 'cp.sqlite')
        got = []
        store = cinesis.SqliteStore(path)
        with self.client.consumer(self.stream, 'app', checkpoints=store,
                                  max_records_per_call=100) as consumer:
            for rec in consumer:
                got.append(rec.data)
                if len(got) >= n // 2:
                    consumer.stop()
        first = list(got)
        self.assertEqual(len(set(first)), len(first), 'duplicates in one run')
        store.close()
        # restart: a new store object on the same file resumes from the checkpoints
        more = []
        with self.client.consumer(self.stream, 'app', checkpoints=cinesis.SqliteStore(path),
                                  max_records_per_call=100) as consumer:
            deadline = time.time() + 60
            while len(set(first) | set(more)) < n and time.time() < deadline:
                more.extend(r.data for r in consumer.poll(0.2))
        everything = set(first) | set(more)
        self.assertEqual(len(everything), n, 'missing records')
        self.assertEqual(everything, set(('%06d' % i).encode('ascii') for i in range(n)))
        redelivered = len(first) + len(more) - n
        self.assertLessEqual(redelivered, 2 * 100, 'resume did not start at the checkpoints')

    def test_checkpoint_after_each_handled_batch(self):
        # At-least-once: a batch is checkpointed once the next poll starts (the previous one
        # was handled), without waiting for stop/close (a crash then loses nothing handled).
        self._produce(40)
        store = cinesis.MemoryStore()
        consumer = self.client.consumer(self.stream, 'cpb', checkpoints=store,
                                        max_records_per_call=5)
        first = []
        deadline = time.time() + 30
        while not first and time.time() < deadline:
            first = consumer.poll(0.2)
        last = {}
        for r in first:
            last[r.shard_id] = r.sequence_number
        for shard in last:
            self.assertIsNone(store.load_checkpoint('cpb', self.stream, shard),
                              'checkpointed before it was handled')
        consumer.poll(0.2)  # the first batch is handled: the next poll checkpoints it
        for shard, seq in last.items():
            got = store.load_checkpoint('cpb', self.stream, shard)
            self.assertIsNotNone(got)
            self.assertGreaterEqual(int(got[0]), int(seq))
        consumer.close()

    def test_leaving_the_loop_checkpoints_only_the_records_handled(self):
        # A record counts as handled once the loop body returned from it: break or an
        # exception at the 6th record, or stop() after the 5th, checkpoints the 5 handled
        # ones (per shard) and nothing after them; a restart reads exactly the others.
        n = 60
        self._produce(n)
        everything = set(('%06d' % i).encode('ascii') for i in range(n))
        for how in ('break', 'raise', 'stop'):
            store = cinesis.MemoryStore()
            app = 'leave-' + how
            handled = []
            with self.client.consumer(self.stream, app, checkpoints=store,
                                      max_records_per_call=100) as consumer:
                try:
                    for rec in consumer:
                        if len(handled) == 5:
                            if how == 'break':
                                break
                            if how == 'raise':
                                raise ValueError('not handled')
                        handled.append(rec.data)
                        if how == 'stop' and len(handled) == 5:
                            consumer.stop()
                except ValueError:
                    pass
            self.assertEqual(len(handled), 5, how)
            with self.client.consumer(self.stream, app, checkpoints=store,
                                      max_records_per_call=100) as consumer:
                again = [r.data for r in support.read_until(consumer, n - 5)]
            self.assertEqual(sorted(again), sorted(everything - set(handled)), how)

    def test_an_iteration_left_mid_batch_resumes_at_the_record_it_left(self):
        n = 40
        self._produce(n)
        with self.client.consumer(self.stream, 'resume', max_records_per_call=100) as consumer:
            first = []
            for rec in consumer:
                if len(first) == 3:
                    left_at = rec.data
                    break
                first.append(rec.data)
            rest = []
            timer = threading.Timer(30, consumer.stop)  # ends the loop if records are lost
            timer.start()
            try:
                for rec in consumer:
                    rest.append(rec.data)
                    if len(first) + len(rest) >= n:
                        break
            finally:
                timer.cancel()
        self.assertEqual(rest[0], left_at)
        self.assertEqual(sorted(first + rest), sorted(('%06d' % i).encode('ascii')
                                                      for i in range(n)))

    def test_record_fields(self):
        self.client.put_record(self.stream, b'payload', 'pk-1')
        with self.client.consumer(self.stream, 'fields') as consumer:
            recs = support.read_until(consumer, 1)
        r = recs[0]
        self.assertEqual(r.data, b'payload')
        self.assertEqual(r.partition_key, 'pk-1')
        self.assertTrue(r.shard_id.startswith('shardId-'))
        self.assertTrue(r.sequence_number.isdigit())
        self.assertEqual(r.approximate_arrival_timestamp.year >= 2020, True)

    def test_stop_from_another_thread_returns_quickly(self):
        consumer = self.client.consumer(self.stream, 'stopper', poll_timeout=5)
        done = threading.Event()

        def run():
            for _ in consumer:
                pass
            done.set()
        t = threading.Thread(target=run)
        t.daemon = True
        t.start()
        time.sleep(0.3)
        start = time.time()
        consumer.stop()
        self.assertTrue(done.wait(10), 'iteration did not end after stop()')
        self.assertLess(time.time() - start, 4.0, 'stop() waited for the 5 s poll')
        consumer.close()

    def test_checkpointer_subclass_is_used_and_resumed(self):
        self._produce(50)

        class Mine(cinesis.Checkpointer):
            def __init__(self):
                self.d = {}

            def checkpoint(self, shard_id, sequence):
                self.d[shard_id] = sequence

            def get_checkpoint(self, shard_id):
                return self.d.get(shard_id)

            def get_all_checkpoints(self):
                return dict(self.d)
        cp = Mine()
        with self.client.consumer(self.stream, 'cp', checkpoints=cp) as consumer:
            got = support.read_until(consumer, 50)
            consumer.poll(0.1)  # commits the last batch
        self.assertEqual(len(got), 50)
        self.assertTrue(cp.d)
        last = {}
        for r in got:
            last[r.shard_id] = r.sequence_number
        for shard, seq in last.items():
            self.assertEqual(cp.d[shard], seq)
        with self.client.consumer(self.stream, 'cp', checkpoints=cp) as consumer:
            self.assertEqual(support.read_until(consumer, 1, timeout=1.5), [])

    def test_python_store_leases_and_fencing(self):
        self._produce(20)
        store = cinesis.PythonStore()
        with self.client.consumer(self.stream, 'leased', checkpoints=store, leases=True,
                                  worker_id='w1') as consumer:
            got = support.read_until(consumer, 20)
            consumer.poll(0.1)
            leases = store.list_leases(('leased', self.stream))
        self.assertEqual(len(got), 20)
        shard_leases = [l for l in leases if l.shard_id.startswith('shardId-')]
        self.assertEqual(len(shard_leases), 2)
        # fencing: a lease that changed hands can no longer checkpoint
        scope = ('leased', self.stream)
        now = int(time.time() * 1000)
        a = store.try_acquire(scope, 'shard-x', 'A', 1000, now)
        self.assertIsNotNone(a)
        self.assertIsNone(store.try_acquire(scope, 'shard-x', 'B', 1000, now))
        b = store.try_acquire(scope, 'shard-x', 'B', 1000, now + 1000)  # A expired
        self.assertEqual(b.counter, a.counter + 1)
        self.assertFalse(store.save_if_owner(scope, a, '1', 0, now + 1001))
        self.assertTrue(store.save_if_owner(scope, b, '2', 0, now + 1001))
        self.assertEqual(store.load(scope, 'shard-x'), ('2', 0))

    def test_stores_round_trip(self):
        for store in (cinesis.MemoryStore(), cinesis.SqliteStore(
                os.path.join(tempfile.mkdtemp(), 's.db')), cinesis.PythonStore()):
            self.assertIsNone(store.load_checkpoint('a', 's', 'shardId-0'))
            store.save_checkpoint('a', 's', 'shardId-0', '123', 2 ** 64 - 1)
            self.assertEqual(store.load_checkpoint('a', 's', 'shardId-0'),
                             ('123', 2 ** 64 - 1))
            store.close()


@needs_library
class LocalKinesisTest(Base, unittest.TestCase):
    def make_client(self):
        return cinesis.LocalKinesis()

    def close_client(self):
        self.client.close()

    def test_reshard_parents_before_children(self):
        with self.client.producer(self.stream, strict_key_order=True) as p:
            for i in range(100):
                p.put(('a%03d' % i).encode('ascii'), partition_key='same')
        self.client.update_shard_count(self.stream, 4)
        with self.client.producer(self.stream) as p:
            for i in range(100):
                p.put(('b%03d' % i).encode('ascii'), partition_key='same')
        with self.client.consumer(self.stream, 'order') as consumer:
            got = [r.data for r in support.read_until(consumer, 200)]
        self.assertEqual(got, [('a%03d' % i).encode('ascii') for i in range(100)]
                         + [('b%03d' % i).encode('ascii') for i in range(100)])

    def test_async_for(self):
        if sys.version_info < (3, 7):
            self.skipTest('async for needs Python 3.7+')
        import asyncio
        self.client.put_record(self.stream, b'one', 'k')
        consumer = self.client.consumer(self.stream, 'aio')
        ns = {}
        exec('async def run(c):\n'
             '    out = []\n'
             '    async for r in c:\n'
             '        out.append(r.data)\n'
             '        c.stop()\n'
             '    return out\n', ns)
        self.assertEqual(asyncio.new_event_loop().run_until_complete(ns['run'](consumer)),
                         [b'one'])
        consumer.close()


@needs_library
class ServerTest(Base, unittest.TestCase):
    """The same tests against a real `cinesis serve`."""

    @classmethod
    def setUpClass(cls):
        cls.server = support.shared_server()
        if cls.server is None:
            if support.CI:
                raise AssertionError('cinesis binary not built (CINESIS_BIN)')
            raise unittest.SkipTest('cinesis binary not built')

    def make_client(self):
        return cinesis.Client(endpoint=self.server.endpoint, region='us-east-1')

    def close_client(self):
        self.client.close()

    def test_server_down_is_a_clear_error(self):
        c = cinesis.Client(endpoint='http://127.0.0.1:1', region='us-east-1',
                           max_attempts=1, connect_timeout=1)
        with self.assertRaises(cinesis.KinesisError) as cm:
            c.list_streams()
        self.assertTrue(cm.exception.retriable or isinstance(cm.exception,
                                                             cinesis.CinesisIOError))
        c.close()

    def test_unreadable_ca_bundle_is_named(self):
        missing = os.path.join(tempfile.mkdtemp(prefix='cinesis-ca-'), 'missing.pem')
        with self.assertRaises(cinesis.KinesisError) as cm:
            cinesis.Client(endpoint='https://127.0.0.1:1', region='us-east-1', ca_bundle=missing)
        self.assertIn('cannot read the CA bundle', str(cm.exception))
        self.assertIn(missing, str(cm.exception))


class LibraryLookupTest(unittest.TestCase):
    def test_missing_library_message_says_how_to_fix(self):
        env = dict(os.environ, CINESIS_LIBRARY='/nonexistent/libcinesis.so')
        code = ('import cinesis\n'
                'try:\n'
                '    cinesis.LocalKinesis()\n'
                'except cinesis.LibraryNotFoundError as e:\n'
                '    print(str(e))\n')
        env['PYTHONPATH'] = os.path.dirname(support.HERE)
        out = subprocess.check_output([sys.executable, '-c', code], env=env)
        text = out.decode('utf-8')
        self.assertIn('CINESIS_LIBRARY', text)
        self.assertIn('/nonexistent/libcinesis.so', text)
        self.assertIn('cmake', text)

    def test_error_hierarchy(self):
        e = cinesis.error_from_code(15, 'ResourceNotFoundException: Stream x under account '
                                        '000000000000 not found.')
        self.assertIsInstance(e, cinesis.ResourceNotFoundException)
        self.assertEqual(e.message, 'Stream x under account 000000000000 not found.')
        self.assertTrue(issubclass(cinesis.ProvisionedThroughputExceededException,
                                   cinesis.KinesisError))
        self.assertTrue(cinesis.ProvisionedThroughputExceededException.retriable)
        u = cinesis.error_from_code(44, 'SomeNewException: text')
        self.assertEqual(u.name, 'SomeNewException')



class DataColumnTest(unittest.TestCase):
    """RecordBatch.data's split of the C data column: one Struct for equal lengths, slices
    otherwise (no library needed: the column is built here)."""

    def split(self, records):
        import ctypes
        import struct
        from cinesis import consumer
        blob = b''.join(records)
        offsets = [0]
        for r in records:
            offsets.append(offsets[-1] + len(r))
        data = ctypes.create_string_buffer(blob, len(blob) + 1)
        offs = ctypes.create_string_buffer(struct.pack('=%dQ' % len(offsets), *offsets))
        return consumer._split_data(ctypes.addressof(data), ctypes.addressof(offs), len(records))

    def test_equal_and_unequal_lengths(self):
        same = [('r%04d' % i).encode('ascii') for i in range(1000)]
        self.assertEqual(self.split(same), same)
        self.assertEqual(self.split(same), same)  # the cached Struct
        # total divisible by the count, lengths not equal
        self.assertEqual(self.split([b'a', b'bcd']), [b'a', b'bcd'])
        self.assertEqual(self.split([b'ab', b'', b'cdef']), [b'ab', b'', b'cdef'])
        self.assertEqual(self.split([b'only']), [b'only'])
        self.assertEqual(self.split([b'', b'', b'']), [b'', b'', b''])
        self.assertEqual(self.split([b'\x00\xff', b'\x01\x02']), [b'\x00\xff', b'\x01\x02'])

if __name__ == '__main__':
    unittest.main()
