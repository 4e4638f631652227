"""The live endpoints of issue 18 (docs/console.md "Endpoints"): the WebSocket tail and put at
/_cinesis/ws, the same-origin check, /_cinesis/metrics(.json) and /_cinesis/faults.

The 1M-record slow-client test is in test_live_slow_client.py.
"""

import base64
import http.client
import json
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import CinesisServer, ServerTestCase  # noqa: E402
from wsclient import HandshakeError, WsClient  # noqa: E402

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # scripts/install-deps.sh installs python3-prometheus-client
    text_string_to_metric_families = None


def setUpModule():
    LiveTest.server = CinesisServer('--fault-seed', '42').start()


def tearDownModule():
    harness.stop_server_checked(LiveTest.server)


def http_get(server, path, method='GET', body=None, headers=None):
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def seq_key(seq):
    return int(seq)


class LiveTest(ServerTestCase):
    def setUp(self):
        self.client = harness.make_client(self.server.endpoint)
        http_get(self.server, '/_cinesis/faults', 'DELETE')

    def ws(self, **kw):
        c = WsClient(self.server.host, self.server.port, **kw)
        self.addCleanup(c.close)
        return c

    def stream(self, shards=1):
        return harness.create_stream(self, self.client, shards=shards, prefix='live')

    def put(self, name, key, data, ehk=None):
        kw = {'ExplicitHashKey': str(ehk)} if ehk is not None else {}
        r = self.client.put_record(StreamName=name, PartitionKey=key, Data=data, **kw)
        return r['ShardId'], r['SequenceNumber']

    def wait_active(self, name):
        harness.wait_active(self.client, name)

    # ---- tail ----
    def test_tail_from_trim_horizon_follows_split_and_merge_exactly_once_in_order(self):
        name = self.stream(shards=2)
        half = 2 ** 127
        expected = {}  # seq -> (shard, data)

        def put(tag, i, ehk):
            shard, seq = self.put(name, 'k', ('%s-%d' % (tag, i)).encode(), ehk)
            expected[seq] = (shard, ('%s-%d' % (tag, i)).encode())

        for i in range(20):
            put('a', i, 5)             # shard 0
            put('b', i, half + 5)      # shard 1
        # Split shard 0 into 2 (lower quarter) and 3 (upper quarter of the space).
        self.client.split_shard(StreamName=name, ShardToSplit='shardId-000000000000',
                                NewStartingHashKey=str(2 ** 126))
        self.wait_active(name)
        for i in range(10):
            put('c', i, 5)             # shard 2
            put('d', i, 2 ** 126 + 5)  # shard 3
        # More than one message's worth (500) in shard 3: its end comes in a later read than
        # its sibling's parent 1, so a child started early (before all parents ended) shows.
        for chunk in range(3):
            entries = [{'PartitionKey': 'k', 'Data': b'f-%d-%d' % (chunk, i), 'ExplicitHashKey': str(2 ** 126 + 9)}
                       for i in range(250)]
            out = self.client.put_records(StreamName=name, Records=entries)
            for e, r in zip(entries, out['Records']):
                expected[r['SequenceNumber']] = (r['ShardId'], e['Data'])
        # Merge 3 and 1 into 4.
        self.client.merge_shards(StreamName=name, ShardToMerge='shardId-000000000003',
                                 AdjacentShardToMerge='shardId-000000000001')
        self.wait_active(name)
        for i in range(5):
            put('m', i, half + 7)      # shard 4, there before the tail starts
        c = self.ws()
        c.send({'op': 'tail', 'id': 't1', 'stream': name, 'from': 'TRIM_HORIZON'})
        # Records written while the tail runs are pushed too.
        for i in range(10):
            put('e', i, half + 7)      # shard 4
        got = []
        ended = {}
        order = []  # ('end', shard) and ('rec', shard) events, in arrival order
        deadline = time.time() + 30
        while len(got) < len(expected):
            self.assertLess(time.time(), deadline, 'missing %d records' % (len(expected) - len(got)))
            m = c.recv()
            self.assertNotEqual(m['type'], 'error', m)
            self.assertEqual(m['id'], 't1')
            if m['type'] == 'records':
                for r in m['records']:
                    got.append(r)
                    order.append(('rec', r['shard']))
            elif m['type'] == 'shard_end':
                ended[m['shard']] = m['children']
                order.append(('end', m['shard']))
        seqs = [r['seq'] for r in got]
        self.assertEqual(len(seqs), len(set(seqs)), 'a record arrived twice')
        self.assertEqual(set(seqs), set(expected))
        for r in got:
            self.assertEqual((r['shard'], base64.b64decode(r['data'])), expected[r['seq']])
            self.assertEqual(r['key'], 'k')
            self.assertIsInstance(r['time_ms'], int)
        by_shard = {}
        for r in got:
            by_shard.setdefault(r['shard'], []).append(seq_key(r['seq']))
        for shard, s in by_shard.items():
            self.assertEqual(s, sorted(s), 'out of order in %s' % shard)
        self.assertEqual(sorted(ended['shardId-000000000000']), ['shardId-000000000002', 'shardId-000000000003'])
        self.assertEqual(ended['shardId-000000000001'], ['shardId-000000000004'])
        self.assertEqual(ended['shardId-000000000003'], ['shardId-000000000004'])
        # Parents before children: no record of a child before every parent's end.
        parents = {'shardId-000000000002': ['shardId-000000000000'],
                   'shardId-000000000003': ['shardId-000000000000'],
                   'shardId-000000000004': ['shardId-000000000001', 'shardId-000000000003']}
        for i, (kind, shard) in enumerate(order):
            if kind == 'rec' and shard in parents:
                for p in parents[shard]:
                    self.assertTrue(('end', p) in order[:i], '%s before the end of its parent %s' % (shard, p))
        c.send({'op': 'stop', 'id': 't1'})

    def test_tail_latest_gets_records_put_later_and_single_shard(self):
        name = self.stream(shards=2)
        self.put(name, 'old', b'old', 5)
        c = self.ws()
        c.send({'op': 'tail', 'id': 'x', 'stream': name, 'from': 'LATEST', 'shard': 'shardId-000000000000'})
        time.sleep(0.2)  # let the tail start (LATEST is where the log ends when it starts)
        _, seq1 = self.put(name, 'k1', b'one', 5)
        self.put(name, 'k2', b'other shard', 2 ** 127 + 1)
        _, seq2 = self.put(name, 'k3', b'two', 6)
        got = []
        while len(got) < 2:
            m = c.recv()
            self.assertEqual(m['type'], 'records', m)
            got += m['records']
        self.assertEqual([r['seq'] for r in got], [seq1, seq2])
        self.assertEqual([base64.b64decode(r['data']) for r in got], [b'one', b'two'])

    def test_tail_unknown_stream_is_an_aws_error(self):
        c = self.ws()
        c.send({'op': 'tail', 'id': 'e1', 'stream': 'no-such-stream', 'from': 'TRIM_HORIZON'})
        m = c.recv()
        self.assertEqual(m['type'], 'error')
        self.assertEqual(m['id'], 'e1')
        self.assertEqual(m['code'], 'ResourceNotFoundException')
        self.assertEqual(m['message'], 'Stream no-such-stream under account %s not found.' % harness.ACCOUNT_ID)

    def test_tail_with_a_timestamp_that_is_not_an_exact_integer_is_refused(self):
        # Regression: 1.5, 1e400 or 2^64 - 1 made boost.json throw and the server abort.
        name = self.stream(shards=1)
        c = self.ws()
        for i, ts in enumerate(('1.5', '1e400', '18446744073709551615')):
            c._send_frame(0x1, ('{"op":"tail","id":"t%d","stream":"%s","from":"AT_TIMESTAMP",'
                        '"timestamp_ms":%s}' % (i, name, ts)).encode())
            m = c.recv()
            self.assertEqual((m['type'], m['id'], m['code']), ('error', 't%d' % i,
                                                             'ValidationException'), m)
        # The server is still serving.
        self.assertIn('StreamNames', self.client.list_streams())

    # ---- put ----
    def test_put_over_the_socket_is_readable_by_get_records(self):
        name = self.stream(shards=1)
        c = self.ws()
        c.send({'op': 'put', 'id': 'p1', 'stream': name,
                'records': [{'key': 'a', 'data': harness.b64(b'hello')},
                            {'key': 'b', 'data': harness.b64(b'world')}]})
        m = c.recv()
        self.assertEqual(m['type'], 'put_result', m)
        self.assertEqual(m['id'], 'p1')
        self.assertEqual([r['shard'] for r in m['records']], ['shardId-000000000000'] * 2)
        recs = harness.read_shard(self.client, name, 'shardId-000000000000')
        self.assertEqual([(r['SequenceNumber'], r['Data'], r['PartitionKey']) for r in recs],
                         [(m['records'][0]['seq'], b'hello', 'a'), (m['records'][1]['seq'], b'world', 'b')])
        # The AWS error for a missing stream.
        c.send({'op': 'put', 'id': 'p2', 'stream': 'nope', 'records': [{'key': 'a', 'data': 'AA=='}]})
        m = c.recv()
        self.assertEqual((m['type'], m['id'], m['code']), ('error', 'p2', 'ResourceNotFoundException'))

    # ---- origin ----
    def test_foreign_origin_is_refused(self):
        with self.assertRaises(HandshakeError) as cm:
            WsClient(self.server.host, self.server.port, origin='http://evil.example')
        self.assertEqual(cm.exception.status, 403)
        with self.assertRaises(HandshakeError) as cm:
            WsClient(self.server.host, self.server.port, origin='http://127.0.0.1:1')
        self.assertEqual(cm.exception.status, 403)
        # Same origin and no origin are let in.
        self.ws(origin='http://127.0.0.1:%d' % self.server.port)
        self.ws()
        # A mutating call from a foreign page is refused as well.
        status, _ = http_get(self.server, '/_cinesis/faults', 'POST',
                             json.dumps({'operation': 'PutRecord', 'action': 'error'}),
                             {'Origin': 'http://evil.example'})
        self.assertEqual(status, 403)
        status, body = http_get(self.server, '/_cinesis/faults')
        self.assertEqual(json.loads(body)['rules'], [])

    # ---- metrics ----
    @unittest.skipIf(text_string_to_metric_families is None, 'python3-prometheus-client missing')
    def test_metrics_count_what_was_written_and_read(self):
        name = self.stream(shards=2)
        written = {'shardId-000000000000': [0, 0], 'shardId-000000000001': [0, 0]}
        for i in range(30):
            data = b'x' * (i + 1)
            shard, _ = self.put(name, 'k%d' % i, data, 5 if i % 3 else 2 ** 127 + 5)
            written[shard][0] += 1
            written[shard][1] += len(data)
        entries = [{'PartitionKey': 'b', 'Data': b'yy', 'ExplicitHashKey': '7'}] * 5
        self.client.put_records(StreamName=name, Records=entries)
        written['shardId-000000000000'][0] += 5
        written['shardId-000000000000'][1] += 10
        read = harness.read_shard(self.client, name, 'shardId-000000000000')
        self.assertEqual(len(read), written['shardId-000000000000'][0])

        status, text = http_get(self.server, '/_cinesis/metrics')
        self.assertEqual(status, 200)
        families = {f.name: f for f in text_string_to_metric_families(text.decode())}

        def value(family, sample_suffix, **labels):
            for s in families[family].samples:
                if s.name == family + sample_suffix and all(s.labels.get(k) == v for k, v in labels.items()):
                    return s.value
            self.fail('no sample %s%s %r' % (family, sample_suffix, labels))

        for shard, (n, nbytes) in written.items():
            self.assertEqual(value('cinesis_incoming_records', '_total', stream=name, shard=shard), n)
            self.assertEqual(value('cinesis_incoming_bytes', '_total', stream=name, shard=shard), nbytes)
        self.assertEqual(value('cinesis_get_records_records', '_total', stream=name, shard='shardId-000000000000'),
                         written['shardId-000000000000'][0])
        self.assertEqual(value('cinesis_get_records_bytes', '_total', stream=name, shard='shardId-000000000000'),
                         written['shardId-000000000000'][1])
        self.assertEqual(value('cinesis_get_records_records', '_total', stream=name, shard='shardId-000000000001'), 0)
        self.assertGreaterEqual(value('cinesis_open_connections', ''), 1)
        self.assertGreater(value('cinesis_process_resident_memory_bytes', ''), 1 << 20)
        self.assertIn('cinesis_fsync_duration_seconds', families)

        # The 1-second history adds up to the same counts once the seconds have closed.
        deadline = time.time() + 10
        while True:
            status, body = http_get(self.server, '/_cinesis/metrics.json?stream=%s&seconds=900' % name)
            self.assertEqual(status, 200)
            doc = json.loads(body)
            shards = doc['streams'][name]['shards']
            sums = {s: sum(v['IncomingRecords']) for s, v in shards.items()}
            # The read came after the writes, possibly in a later second: wait for its second
            # to close too.
            got = sum(shards['shardId-000000000000']['GetRecords.Records'])
            if (sums == {s: w[0] for s, w in written.items()} and got == written['shardId-000000000000'][0]) \
                    or time.time() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(doc['resolution_ms'], 1000)
        self.assertEqual(len(shards['shardId-000000000000']['IncomingRecords']), 900)
        self.assertEqual(sums, {s: w[0] for s, w in written.items()})
        self.assertEqual(sum(shards['shardId-000000000000']['GetRecords.Records']), written['shardId-000000000000'][0])
        self.assertEqual(doc['end_ms'] % 1000, 0)
        status, body = http_get(self.server, '/_cinesis/metrics.json?stream=nope')
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)['__type'], 'ResourceNotFoundException')
        status, body = http_get(self.server, '/_cinesis/metrics.json?seconds=5')
        self.assertIn(name, json.loads(body)['streams'])

    @unittest.skipIf(text_string_to_metric_families is None, 'python3-prometheus-client missing')
    def test_consumer_lag_per_registered_consumer_and_shard(self):
        """SubscribeToShardEvent.MillisBehindLatest per consumer and shard: in the JSON history
        (the console's age chart), the consumer's summary and the Prometheus export."""
        name = self.stream(shards=1)
        arn = self.client.describe_stream_summary(StreamName=name)['StreamDescriptionSummary']['StreamARN']
        consumer = self.client.register_stream_consumer(StreamARN=arn, ConsumerName='lagger')['Consumer']['ConsumerARN']
        deadline = time.time() + 10
        while self.client.describe_stream_consumer(
                ConsumerARN=consumer)['ConsumerDescription']['ConsumerStatus'] != 'ACTIVE':
            self.assertLess(time.time(), deadline)
            time.sleep(0.05)
        # More than one event's worth (10,000 records), so the first event is behind the latest.
        for _ in range(21):
            self.client.put_records(StreamName=name, Records=[{'PartitionKey': 'k', 'Data': b'x'}] * 500)
        time.sleep(0.3)
        resp = self.client.subscribe_to_shard(ConsumerARN=consumer, ShardId='shardId-000000000000',
                                              StartingPosition={'Type': 'TRIM_HORIZON'})
        first = next(iter(resp['EventStream']))['SubscribeToShardEvent']
        self.assertEqual(len(first['Records']), 10000)
        self.assertGreaterEqual(first['MillisBehindLatest'], 300)
        key = 'SubscribeToShardEvent.MillisBehindLatest/lagger'
        deadline = time.time() + 10
        while True:  # until the second of the first event has closed
            doc = json.loads(http_get(self.server, '/_cinesis/metrics.json?stream=%s&seconds=30' % name)[1])
            shard = doc['streams'][name]['shards']['shardId-000000000000']
            if max(shard.get(key) or [0]) >= 300 or time.time() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(len(shard[key]), 30)
        self.assertGreaterEqual(max(shard[key]), first['MillisBehindLatest'])
        self.assertIn(key, shard['totals'])
        self.assertIn('SubscribeToShardEvent.MillisBehindLatest', doc['streams'][name]['consumers']['lagger'])
        text = http_get(self.server, '/_cinesis/metrics')[1].decode()
        family = {f.name: f for f in text_string_to_metric_families(text)}[
            'cinesis_consumer_subscribe_to_shard_event_millis_behind_latest']
        self.assertEqual(family.type, 'gauge')
        labels = [s.labels for s in family.samples if s.labels.get('stream') == name]
        self.assertEqual(labels, [{'stream': name, 'shard': 'shardId-000000000000', 'consumer': 'lagger'}])
        resp['EventStream'].close()

    # ---- faults ----
    def add_rule(self, **rule):
        status, body = http_get(self.server, '/_cinesis/faults', 'POST', json.dumps({'rules': [rule]}))
        self.assertEqual(status, 200, body)
        return json.loads(body)['rules']

    def rules(self):
        return {r['id']: r for r in json.loads(http_get(self.server, '/_cinesis/faults')[1])['rules']}

    def test_fault_error_at_a_rate_on_the_named_operation_and_stream_only(self):
        a, b = self.stream(), self.stream()
        self.add_rule(id='half', operation='PutRecord', stream=a, action='error', rate=0.5)
        failures = {a: 0, b: 0}
        for i in range(100):
            for name in (a, b):
                try:
                    self.put(name, 'k', b'd')
                except self.client.exceptions.ClientError as e:
                    self.assertEqual(harness.error_of(e)[0], 'InternalFailure')
                    failures[name] += 1
        injected = self.rules()['half']['injected']
        self.assertEqual(failures[a], injected)
        self.assertEqual(failures[b], 0)
        self.assertTrue(25 <= injected <= 75, injected)  # rate 0.5 of 100 (fixed seed)
        # Other operations on the same stream are untouched.
        self.client.describe_stream_summary(StreamName=a)
        harness.read_shard(self.client, a, 'shardId-000000000000')
        # Removed: none.
        self.assertEqual(http_get(self.server, '/_cinesis/faults?id=half', 'DELETE')[0], 200)
        for i in range(50):
            self.put(a, 'k', b'd')

    def test_fault_count_throttle_latency_503_and_reset(self):
        a = self.stream()
        # The next 3 calls are throttled with AWS's text, then none.
        self.add_rule(id='t', operation='PutRecord', stream=a, action='throttle', count=3)
        errors = []
        for i in range(6):
            try:
                self.put(a, 'k', b'd')
            except self.client.exceptions.ProvisionedThroughputExceededException as e:
                errors.append(harness.error_of(e))
        self.assertEqual(len(errors), 3)
        self.assertEqual(errors[0][1], 'Rate exceeded for shard shardId-000000000000 in stream %s under account %s.'
                         % (a, harness.ACCOUNT_ID))
        # PutRecords: every record of the call fails as AWS reports a throttled record.
        self.add_rule(id='t2', operation='PutRecords', stream=a, action='throttle', count=1)
        r = self.client.put_records(StreamName=a, Records=[{'PartitionKey': 'k', 'Data': b'x'}] * 2)
        self.assertEqual(r['FailedRecordCount'], 2)
        self.assertEqual({x['ErrorCode'] for x in r['Records']}, {'ProvisionedThroughputExceededException'})
        r = self.client.put_records(StreamName=a, Records=[{'PartitionKey': 'k', 'Data': b'x'}] * 2)
        self.assertEqual(r['FailedRecordCount'], 0)
        # Latency: the answer waits at least latency_ms.
        self.add_rule(id='slow', operation='DescribeStreamSummary', stream=a, action='latency',
                      latency_ms=300, count=1)
        t0 = time.monotonic()
        self.client.describe_stream_summary(StreamName=a)
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)
        # 503 ServiceUnavailable.
        self.add_rule(id='u', operation='ListShards', stream=a, action='error', error='ServiceUnavailable', count=1)
        resp = harness.kinesis_call(self.server, 'ListShards', {'StreamName': a})
        self.assertEqual(resp.status, 503)
        self.assertEqual(resp.json()['__type'], 'ServiceUnavailable')
        self.assertEqual(harness.kinesis_call(self.server, 'ListShards', {'StreamName': a}).status, 200)
        # Reset: the connection is cut instead of answered.
        self.add_rule(id='r', operation='DescribeStream', stream=a, action='reset', count=1)
        with self.assertRaises((ConnectionResetError, http.client.RemoteDisconnected, ConnectionAbortedError)):
            harness.kinesis_call(self.server, 'DescribeStream', {'StreamName': a})
        self.assertEqual(harness.kinesis_call(self.server, 'DescribeStream', {'StreamName': a}).status, 200)
        rules = self.rules()
        self.assertEqual({k: v['injected'] for k, v in rules.items()},
                         {'t': 3, 't2': 1, 'slow': 1, 'u': 1, 'r': 1})
        # GetRecords is matched by the stream its iterator belongs to.
        self.add_rule(id='g', operation='GetRecords', stream=a, action='throttle', count=1)
        it = self.client.get_shard_iterator(StreamName=a, ShardId='shardId-000000000000',
                                            ShardIteratorType='TRIM_HORIZON')['ShardIterator']
        with self.assertRaises(self.client.exceptions.ProvisionedThroughputExceededException):
            self.client.get_records(ShardIterator=it)
        self.client.get_records(ShardIterator=it)

    def test_fault_rule_validation(self):
        status, body = http_get(self.server, '/_cinesis/faults', 'POST',
                                json.dumps({'operation': 'NoSuchOp', 'action': 'error'}))
        self.assertEqual(status, 400)
        status, body = http_get(self.server, '/_cinesis/faults', 'POST',
                                json.dumps({'operation': 'PutRecord', 'action': 'error', 'rate': 2}))
        self.assertEqual(status, 400)


class FaultFlagTest(unittest.TestCase):
    def test_fault_flag_applies_from_the_start(self):
        srv = CinesisServer('--fault', 'operation=ListStreams,action=error,count=2').start()
        try:
            client = harness.make_client(srv.endpoint, retries={'max_attempts': 0})
            fails = 0
            for i in range(4):
                try:
                    client.list_streams()
                except client.exceptions.ClientError:
                    fails += 1
            self.assertEqual(fails, 2)
        finally:
            harness.stop_server_checked(srv)


if __name__ == '__main__':
    unittest.main()
