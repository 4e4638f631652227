"""SubscribeToShard (enhanced fan-out) through boto3: starting positions, push latency, heartbeats,
resubscription from ContinuationSequenceNumber, a subscription across a reshard, expiry, errors, the
one-subscription-per-consumer-and-shard rule, and concurrent subscriptions.

Run:  /usr/bin/python3 -m unittest -v tests/integration/test_subscribe.py   (from the repo root)

Expectations come from /work/shared/reference/kinesis-behaviour.md (sections 2.3, 6, 11, 13, 14), i.e.
from the behaviour of the real AWS service, not from the server under test.  Debian's botocore 1.29 speaks
SubscribeToShard over HTTP/1.1: it checks that the first event-stream message is the initial-response
event and decodes the SubscribeToShardEvent messages (and raises EventStreamError for exception events).

Every test registers its own consumer(s) on a fresh stream, because a consumer may hold only one
subscription per shard and a new one within 5 s of the previous one is refused.
"""

import datetime
import os
import socket
import statistics
import sys
import threading
import time
import unittest

from botocore.exceptions import ClientError, EventStreamError

from . import harness as h

ACCT = h.ACCOUNT_ID
HALF = 2 ** 127
HEARTBEAT_S = 2.0          # the server sends an empty event when idle for this long (~2 s)
TAKEOVER_S = 5.0           # a second subscription within 5 s of the first is refused (section 13)
EXPIRY_MS = 1500           # --subscription-ms of the dedicated expiry server

SERVER = None
CLIENT = None


def setUpModule():
    global SERVER, CLIENT
    SERVER = h.CinesisServer().start()
    CLIENT = h.make_client(SERVER.endpoint)
    Base.server = SERVER
    Base.client = CLIENT


def tearDownModule():
    h.stop_server_checked(SERVER)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

class Subscription(object):
    """One SubscribeToShard call whose event stream is read by a background thread.

    ``events`` is a list of (monotonic arrival time, SubscribeToShardEvent dict).  The reader stops at the
    end of the stream (``ended`` is set, ``end_time`` recorded) or at an in-stream exception (``error``
    holds the EventStreamError) -- or when ``close`` is called.
    """

    def __init__(self, client, consumer_arn, shard, position_type, **position):
        self.shard = shard
        start = dict(Type=position_type, **position)
        self.started = time.monotonic()
        self.response = client.subscribe_to_shard(ConsumerARN=consumer_arn, ShardId=shard, StartingPosition=start)
        self.stream = self.response['EventStream']
        self.events = []
        self.other = []           # parsed events that are not SubscribeToShardEvent
        self.error = None
        self.end_time = None
        self.closing = False
        self.ended = threading.Event()
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, name='subscription-%s' % shard, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for ev in self.stream:
                t = time.monotonic()
                with self.cond:
                    if 'SubscribeToShardEvent' in ev:
                        self.events.append((t, ev['SubscribeToShardEvent']))
                    else:
                        self.other.append((t, ev))
                    self.cond.notify_all()
        except EventStreamError as e:
            self.error = e
        except Exception as e:          # a read error after close() is expected
            if not self.closing:
                self.error = e
        finally:
            with self.cond:
                self.end_time = time.monotonic()
                self.ended.set()
                self.cond.notify_all()

    # -- views -----------------------------------------------------------------
    def snapshot(self):
        with self.cond:
            return list(self.events)

    def records(self):
        return [r for _, ev in self.snapshot() for r in ev['Records']]

    def record_times(self):
        """{sequence number: arrival time of its event}."""
        return {r['SequenceNumber']: t for t, ev in self.snapshot() for r in ev['Records']}

    # -- waiting ---------------------------------------------------------------
    def wait(self, predicate, timeout):
        """Wait until predicate(self) is true (or the stream ended / timeout); return predicate(self)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate(self) and not self.ended.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
        return predicate(self)

    def wait_records(self, n, timeout=5.0):
        return self.wait(lambda s: len(s.records()) >= n, timeout)

    def wait_seq(self, seq, timeout=5.0):
        return self.wait(lambda s: seq in s.record_times(), timeout)

    def wait_empty_event_after(self, index, timeout=HEARTBEAT_S + 2.5):
        """Wait for an event without records among events[index:] (a heartbeat after what was received)."""
        return self.wait(lambda s: any(not ev['Records'] for _, ev in s.snapshot()[index:]), timeout)

    def wait_end(self, timeout):
        self.ended.wait(timeout)
        return self.ended.is_set()

    # -- closing ---------------------------------------------------------------
    def close(self):
        """Drop the connection (the reader thread wakes up at once) and join the reader."""
        if self.ended.is_set():
            try:
                self.stream.close()
            except Exception:
                pass
            return
        self.closing = True
        raw = getattr(self.stream, '_raw_stream', None)
        sock = None
        conn = getattr(raw, '_connection', None)
        if conn is not None:
            sock = getattr(conn, 'sock', None)
        if sock is None:
            try:
                sock = raw._fp.fp.raw._sock
            except Exception:
                sock = None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        try:
            self.stream.close()
        except Exception:
            pass
        self.thread.join(5)

    def describe(self):
        evs = self.snapshot()
        return ('%d events, %d records, ended=%s, error=%r, last events=%r'
                % (len(evs), sum(len(ev['Records']) for _, ev in evs), self.ended.is_set(), self.error,
                   [dict(ev, Records=['<%d records>' % len(ev['Records'])]) for _, ev in evs[-3:]]))


def seqs(records):
    return [r['SequenceNumber'] for r in records]


def data_of(records):
    return [bytes(r['Data']) for r in records]


def payload(tag, i):
    """Distinct binary payloads: every byte value, some sizes above one event-stream chunk."""
    body = bytes(range(256)) * (1 + (i % 3) * 40)      # 256 B .. 20 KiB
    return ('%s-%d|' % (tag, i)).encode('ascii') + body + os.urandom(17)


class Base(h.ServerTestCase):
    client = None

    def make_stream(self, shards=1, consumers=('c',)):
        """A fresh ACTIVE stream plus ACTIVE consumers; returns (name, {consumer name: ARN})."""
        name = h.unique_name('sub')
        self.client.create_stream(StreamName=name, ShardCount=shards)
        self.addCleanup(self._delete_stream, name)
        h.wait_active(self.client, name)
        arns = {}
        for cname in consumers:
            c = self.client.register_stream_consumer(StreamARN=h.stream_arn(name), ConsumerName=cname)['Consumer']
            arns[cname] = c['ConsumerARN']
        for cname, arn in arns.items():
            self.wait_consumer_active(arn)
        return name, arns

    def _delete_stream(self, name):
        try:
            self.client.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
        except Exception:
            pass

    def wait_consumer_active(self, arn, timeout=5.0):
        deadline = time.time() + timeout
        while True:
            d = self.client.describe_stream_consumer(ConsumerARN=arn)['ConsumerDescription']
            if d['ConsumerStatus'] == 'ACTIVE':
                return d
            self.assertLess(time.time(), deadline, 'consumer %s not ACTIVE after %.0fs' % (arn, timeout))
            time.sleep(0.05)

    def subscribe(self, consumer_arn, shard, position_type, **position):
        sub = Subscription(self.client, consumer_arn, shard, position_type, **position)
        self.addCleanup(sub.close)
        md = sub.response['ResponseMetadata']
        self.assertEqual(md['HTTPStatusCode'], 200)
        self.assertEqual(md['HTTPHeaders'].get('content-type'), 'application/vnd.amazon.eventstream')
        return sub

    def put(self, name, data, pk='pk', **kw):
        r = self.client.put_record(StreamName=name, Data=data, PartitionKey=pk, **kw)
        self.assertRegex(r['SequenceNumber'], h.SEQ_RE)
        return {'SequenceNumber': r['SequenceNumber'], 'ShardId': r['ShardId'], 'Data': data, 'PartitionKey': pk}

    def assert_same_records(self, got, expected, what):
        """Same records in the same order: sequence numbers as returned by PutRecord, data byte-exact."""
        self.assertEqual(seqs(got), seqs(expected), '%s: sequence numbers differ' % what)
        for g, e in zip(got, expected):
            self.assertEqual(bytes(g['Data']), e['Data'], '%s: data of %s differs' % (what, e['SequenceNumber']))
            self.assertEqual(g['PartitionKey'], e['PartitionKey'], what)
            self.assertIsInstance(g.get('ApproximateArrivalTimestamp'), datetime.datetime, what)

    def assert_event_shape(self, ev, what):
        self.assertIsInstance(ev.get('Records'), list, '%s: %r' % (what, ev))
        self.assertRegex(ev.get('ContinuationSequenceNumber') or '', h.SEQ_RE, '%s: %r' % (what, ev))
        self.assertIsInstance(ev.get('MillisBehindLatest'), int, '%s: %r' % (what, ev))
        self.assertGreaterEqual(ev['MillisBehindLatest'], 0, what)


# ---------------------------------------------------------------------------
# 1. starting positions
# ---------------------------------------------------------------------------

class StartingPositionTest(Base):

    def test_every_starting_position(self):
        kinds = ('trim', 'latest', 'at', 'after', 'ts', 'at_b0')
        name, arns = self.make_stream(1, consumers=kinds)
        shard = h.shard_id(0)
        a = [self.put(name, payload('a', i), pk='a%d' % i) for i in range(5)]

        # LATEST: subscribed between the two batches -> only the second one
        latest = self.subscribe(arns['latest'], shard, 'LATEST')

        # a whole-second timestamp strictly after batch A (botocore 1.29 sends Timestamp as whole seconds)
        ts = int(time.time()) + 1
        while time.time() < ts + 0.05:
            time.sleep(0.02)
        b = [self.put(name, payload('b', i), pk='b%d' % i) for i in range(4)]
        stamps = [r['ApproximateArrivalTimestamp'] for r in h.read_shard(self.client, name, shard)]
        self.assertTrue(all(s.timestamp() < ts for s in stamps[:5]) and all(s.timestamp() >= ts for s in stamps[5:]),
                        'arrival timestamps %r do not straddle %d' % (stamps, ts))

        subs = {
            'latest': (latest, b),
            'trim': (self.subscribe(arns['trim'], shard, 'TRIM_HORIZON'), a + b),
            'at': (self.subscribe(arns['at'], shard, 'AT_SEQUENCE_NUMBER', SequenceNumber=a[2]['SequenceNumber']),
                   a[2:] + b),
            'after': (self.subscribe(arns['after'], shard, 'AFTER_SEQUENCE_NUMBER',
                                     SequenceNumber=a[2]['SequenceNumber']), a[3:] + b),
            'ts': (self.subscribe(arns['ts'], shard, 'AT_TIMESTAMP',
                                  Timestamp=datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)), b),
            'at_b0': (self.subscribe(arns['at_b0'], shard, 'AT_SEQUENCE_NUMBER', SequenceNumber=b[0]['SequenceNumber']),
                      b),
        }
        for kind, (sub, expected) in subs.items():
            self.assertTrue(sub.wait_records(len(expected), 5.0),
                            '%s: expected %d records within 5 s, got %s' % (kind, len(expected), sub.describe()))
        # let every subscription get one more (empty) event, so that surplus records would have shown up
        for kind, (sub, expected) in subs.items():
            self.assertTrue(sub.wait_empty_event_after(0),
                            '%s: no empty event after the records: %s' % (kind, sub.describe()))
        for kind, (sub, expected) in subs.items():
            self.assertIsNone(sub.error, kind)
            self.assert_same_records(sub.records(), expected, kind)
            for _, ev in sub.snapshot():
                self.assert_event_shape(ev, kind)
                self.assertNotIn('ChildShards', ev, kind)


# ---------------------------------------------------------------------------
# 2. push latency
# ---------------------------------------------------------------------------

class PushLatencyTest(Base):

    def test_records_are_pushed_not_polled(self):
        name, arns = self.make_stream(1)
        sub = self.subscribe(arns['c'], h.shard_id(0), 'LATEST')
        # be sure the subscription is live before timing (the first event may be an empty one 2 s later;
        # a first put/receive round trip avoids waiting for it)
        warm = self.put(name, b'warm-up')
        self.assertTrue(sub.wait_seq(warm['SequenceNumber'], 5.0), sub.describe())
        latencies, puts = [], [warm]
        for i in range(20):
            time.sleep(0.013 * (i % 7) + 0.02)      # not aligned with any polling period
            t0 = time.monotonic()
            rec = self.put(name, payload('lat', i), pk='k%d' % i)
            puts.append(rec)
            self.assertTrue(sub.wait_seq(rec['SequenceNumber'], 5.0),
                            'record %d not delivered within 5 s: %s' % (i, sub.describe()))
            latencies.append((sub.record_times()[rec['SequenceNumber']] - t0) * 1000.0)
        ordered = sorted(latencies)
        p50 = statistics.median(ordered)
        p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
        sys.stderr.write('\n    push latency put->event over %d records: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n'
                         % (len(latencies), p50, p99, ordered[-1]))
        self.assertLess(p50, 500.0, 'median put->event latency %.0f ms: records look polled, not pushed' % p50)
        self.assert_same_records(sub.records(), puts, 'pushed records')
        self.assertIsNone(sub.error)


# ---------------------------------------------------------------------------
# 3. heartbeats
# ---------------------------------------------------------------------------

class HeartbeatTest(Base):

    def test_empty_events_keep_coming(self):
        name, arns = self.make_stream(2)
        rec = self.put(name, b'only-one', ExplicitHashKey='0')
        self.assertEqual(rec['ShardId'], h.shard_id(0))
        # shard 0 holds one record, shard 1 nothing at all: both must send heartbeats with a continuation point
        busy = self.subscribe(arns['c'], h.shard_id(0), 'TRIM_HORIZON')
        empty = self.subscribe(arns['c'], h.shard_id(1), 'TRIM_HORIZON')
        window = 5.0
        time.sleep(window)
        for what, sub in (('shard with one record', busy), ('empty shard', empty)):
            evs = [(t - sub.started, ev) for t, ev in sub.snapshot() if t - sub.started <= window]
            self.assertIsNone(sub.error, what)
            self.assertFalse(sub.ended.is_set(), '%s: stream ended: %s' % (what, sub.describe()))
            heartbeats = [(t, ev) for t, ev in evs if not ev['Records']]
            self.assertGreaterEqual(len(heartbeats), 2, '%s: %d empty events in %.0f s (%s)'
                                    % (what, len(heartbeats), window, sub.describe()))
            for _, ev in evs:
                self.assert_event_shape(ev, what)
                self.assertEqual(ev['MillisBehindLatest'], 0, '%s: caught up but %r' % (what, ev))
            times = [0.0] + [t for t, _ in evs]
            gaps = [b - a for a, b in zip(times, times[1:])]
            self.assertLess(max(gaps), HEARTBEAT_S + 1.5, '%s: gaps between events %r' % (what, gaps))
        self.assert_same_records(busy.records(), [rec], 'shard 0')
        self.assertEqual(empty.records(), [])
        # the heartbeat's continuation point is not before the record already delivered
        last = busy.snapshot()[-1][1]['ContinuationSequenceNumber']
        self.assertGreaterEqual(int(last), int(rec['SequenceNumber']))


# ---------------------------------------------------------------------------
# 4. resubscription from ContinuationSequenceNumber
# ---------------------------------------------------------------------------

class ResubscribeTest(Base):

    def test_resume_after_continuation_sequence_number(self):
        name, arns = self.make_stream(1)
        shard = h.shard_id(0)
        first = self.subscribe(arns['c'], shard, 'TRIM_HORIZON')
        a = [self.put(name, payload('a', i), pk='a%d' % i) for i in range(5)]
        self.assertTrue(first.wait_records(len(a)), first.describe())
        # checkpoint on a heartbeat that follows the records (ContinuationSequenceNumber of an empty event)
        n = len(first.snapshot())
        self.assertTrue(first.wait_empty_event_after(n - 1), first.describe())
        first.close()
        evs = first.snapshot()
        checkpoint = evs[-1][1]['ContinuationSequenceNumber']
        self.assertRegex(checkpoint, h.SEQ_RE)
        # as on AWS (issue 17): past the last record delivered, no record's own number
        self.assertNotIn(checkpoint, seqs(first.records()))
        self.assertGreater(int(checkpoint), max(int(x) for x in seqs(first.records())))

        # written while nobody is subscribed
        b = [self.put(name, payload('b', i), pk='b%d' % i) for i in range(5)]
        left = first.started + TAKEOVER_S + 0.3 - time.monotonic()
        if left > 0:
            time.sleep(left)
        second = self.subscribe(arns['c'], shard, 'AFTER_SEQUENCE_NUMBER', SequenceNumber=checkpoint)
        c = [self.put(name, payload('c', i), pk='c%d' % i) for i in range(5)]
        self.assertTrue(second.wait_records(len(b) + len(c)), second.describe())
        self.assertTrue(second.wait_empty_event_after(0), second.describe())
        self.assertIsNone(second.error)

        self.assert_same_records(first.records(), a, 'first subscription')
        self.assert_same_records(second.records(), b + c, 'second subscription (after %s)' % checkpoint)
        # nothing lost or duplicated across the two subscriptions
        got = seqs(first.records()) + seqs(second.records())
        self.assertEqual(len(got), len(set(got)), 'duplicates across subscriptions')
        self.assertEqual(got, seqs(a + b + c))


# ---------------------------------------------------------------------------
# 5. a subscription across a reshard
# ---------------------------------------------------------------------------

class ReshardTest(Base):

    def test_split_while_subscribed(self):
        name, arns = self.make_stream(1)
        parent, low, high = h.shard_id(0), h.shard_id(1), h.shard_id(2)
        puts = [self.put(name, payload('p', i), pk='p%d' % i) for i in range(3)]
        sub = self.subscribe(arns['c'], parent, 'TRIM_HORIZON')
        self.assertTrue(sub.wait_records(3), sub.describe())

        # keep writing (alternately into both halves of the key space) while the shard is split
        stop = threading.Event()
        errors = []
        lock = threading.Lock()

        # payload() has a random tail: keep what was sent so that the comparison is byte-exact
        def producer():
            i = 0
            while not stop.is_set():
                key = str(HALF - 1 - i) if i % 2 == 0 else str(HALF + i)
                data = payload('s', i)
                try:
                    r = self.client.put_record(StreamName=name, Data=data, PartitionKey='s%d' % i, ExplicitHashKey=key)
                    with lock:
                        puts.append({'SequenceNumber': r['SequenceNumber'], 'ShardId': r['ShardId'],
                                     'Data': data, 'PartitionKey': 's%d' % i})
                except Exception as e:
                    errors.append(e)
                i += 1
                time.sleep(0.01)

        t = threading.Thread(target=producer, daemon=True)
        t.start()
        try:
            time.sleep(0.3)
            self.client.split_shard(StreamName=name, ShardToSplit=parent, NewStartingHashKey=str(HALF))
            split_at = time.monotonic()
            h.wait_active(self.client, name)
            time.sleep(0.3)
        finally:
            stop.set()
            t.join(10)
        self.assertEqual(errors, [], 'PutRecord failed during the split')

        # the parent's stream: its records, then ChildShards, then the end
        self.assertTrue(sub.wait_end(HEARTBEAT_S + 3.0),
                        'parent subscription did not end after the split: %s' % sub.describe())
        self.assertIsNone(sub.error, 'parent subscription failed: %r' % sub.error)
        sys.stderr.write('\n    parent stream: ChildShards event %.0f ms after SplitShard returned, end %.0f ms\n'
                         % ((sub.snapshot()[-1][0] - split_at) * 1000.0, (sub.end_time - split_at) * 1000.0))
        with lock:
            all_puts = list(puts)
        by_shard = {}
        for p in all_puts:
            by_shard.setdefault(p['ShardId'], []).append(p)
        self.assertEqual(set(by_shard) - {parent, low, high}, set(), 'records routed to unexpected shards')
        self.assertTrue(by_shard.get(low) and by_shard.get(high),
                        'the post-split writes should reach both children: %r' % {k: len(v) for k, v in by_shard.items()})
        parent_recs = sorted(by_shard[parent], key=lambda p: int(p['SequenceNumber']))
        self.assert_same_records(sub.records(), parent_recs, 'parent subscription')

        evs = sub.snapshot()
        with_children = [i for i, (_, ev) in enumerate(evs) if 'ChildShards' in ev]
        self.assertEqual(with_children, [len(evs) - 1],
                         'ChildShards expected in exactly the last event: %s' % sub.describe())
        children = sorted(evs[-1][1]['ChildShards'], key=lambda c: c['ShardId'])
        self.assertEqual(children, [
            {'ShardId': low, 'ParentShards': [parent],
             'HashKeyRange': {'StartingHashKey': '0', 'EndingHashKey': str(HALF - 1)}},
            {'ShardId': high, 'ParentShards': [parent],
             'HashKeyRange': {'StartingHashKey': str(HALF), 'EndingHashKey': str(h.MAX_HASH_KEY)}},
        ])
        self.assertEqual(evs[-1][1]['MillisBehindLatest'], 0)

        # the children (same consumer, other shards): the post-split records, and new ones as they come
        subs = {low: self.subscribe(arns['c'], low, 'TRIM_HORIZON'),
                high: self.subscribe(arns['c'], high, 'TRIM_HORIZON')}
        more = [self.put(name, payload('after', i), pk='m%d' % i, ExplicitHashKey=str(i if i % 2 else HALF + i))
                for i in range(6)]
        for p in more:
            by_shard.setdefault(p['ShardId'], []).append(p)
        self.assertEqual({p['ShardId'] for p in more}, {low, high})
        for child, csub in subs.items():
            expected = sorted(by_shard[child], key=lambda p: int(p['SequenceNumber']))
            self.assertTrue(csub.wait_records(len(expected)), '%s: %s' % (child, csub.describe()))
            self.assertTrue(csub.wait_empty_event_after(0), '%s: %s' % (child, csub.describe()))
            self.assertIsNone(csub.error, child)
            self.assert_same_records(csub.records(), expected, 'child %s' % child)
            self.assertFalse(any('ChildShards' in ev for _, ev in csub.snapshot()), 'open child announced children')
        # nothing lost, nothing twice
        delivered = seqs(sub.records()) + seqs(subs[low].records()) + seqs(subs[high].records())
        self.assertEqual(len(delivered), len(set(delivered)))
        self.assertEqual(sorted(delivered), sorted(seqs(all_puts + more)))


# ---------------------------------------------------------------------------
# 6. expiry (dedicated server with --subscription-ms 1500)
# ---------------------------------------------------------------------------

class ExpiryTest(Base):
    expiry_server = None

    @classmethod
    def setUpClass(cls):
        cls.expiry_server = h.CinesisServer('--subscription-ms', EXPIRY_MS).start()
        cls.server = cls.expiry_server
        cls.client = h.make_client(cls.expiry_server.endpoint)

    @classmethod
    def tearDownClass(cls):
        h.stop_server_checked(cls.expiry_server)

    def test_stream_ends_after_subscription_ms(self):
        name, arns = self.make_stream(1)
        sub = self.subscribe(arns['c'], h.shard_id(0), 'LATEST')
        time.sleep(0.3)
        rec = self.put(name, b'during the subscription')
        self.assertTrue(sub.wait_seq(rec['SequenceNumber'], 1.0), sub.describe())
        self.assertTrue(sub.wait_end(EXPIRY_MS / 1000.0 + 3.0),
                        'event stream still open %.1f s after subscribing with --subscription-ms %d: %s'
                        % (time.monotonic() - sub.started, EXPIRY_MS, sub.describe()))
        lasted = sub.end_time - sub.started
        sys.stderr.write('\n    subscription ended after %.2f s (--subscription-ms %d)\n' % (lasted, EXPIRY_MS))
        self.assertIsNone(sub.error, 'expiry should end the stream, not fail it: %r' % sub.error)
        self.assertGreaterEqual(lasted, EXPIRY_MS / 1000.0 - 0.2, 'stream ended before --subscription-ms')
        # AWS: the stream stays open for *up to* the subscription lifetime, then the server ends it
        self.assertLess(lasted, EXPIRY_MS / 1000.0 + 0.5,
                        'stream outlived --subscription-ms %d by %.0f ms (events at %r s)'
                        % (EXPIRY_MS, lasted * 1000.0 - EXPIRY_MS,
                           [round(t - sub.started, 2) for t, _ in sub.snapshot()]))
        self.assert_same_records(sub.records(), [rec], 'expired subscription')


# ---------------------------------------------------------------------------
# 7. errors and the one-subscription rule
# ---------------------------------------------------------------------------

class ErrorTest(Base):

    def assert_error(self, code, message=None, **kw):
        with self.assertRaises(ClientError) as cm:
            r = self.client.subscribe_to_shard(**kw)
            r['EventStream'].close()
        got_code, got_msg = h.error_of(cm.exception)
        self.assertEqual(cm.exception.response['ResponseMetadata']['HTTPStatusCode'], 400)
        self.assertEqual(got_code, code, got_msg)
        if message is not None:
            self.assertEqual(got_msg, message)
        return got_msg

    def test_errors_before_the_stream(self):
        name, arns = self.make_stream(1)
        carn = arns['c']
        shard = h.shard_id(0)
        rec = self.put(name, b'x')
        # unknown consumer (well-formed ARNs: another name, another stream)
        self.assert_error('ResourceNotFoundException', ConsumerARN='%s/consumer/nobody:1700000000' % h.stream_arn(name),
                          ShardId=shard, StartingPosition={'Type': 'LATEST'})
        self.assert_error('ResourceNotFoundException',
                          ConsumerARN='%s/consumer/c:1700000000' % h.stream_arn(h.unique_name('missing')),
                          ShardId=shard, StartingPosition={'Type': 'LATEST'})
        # unknown shard
        self.assert_error('ResourceNotFoundException', ConsumerARN=carn, ShardId=h.shard_id(7),
                          StartingPosition={'Type': 'LATEST'})
        # starting position / sequence number mismatch (section 2.3 texts)
        mismatch = ('Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber '
                    'or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified %s and %s.')
        for typ in ('AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER'):
            self.assert_error('InvalidArgumentException', mismatch % (typ, 'no StartingSequenceNumber'),
                              ConsumerARN=carn, ShardId=shard, StartingPosition={'Type': typ})
        for typ in ('TRIM_HORIZON', 'LATEST'):
            self.assert_error('InvalidArgumentException', mismatch % (typ, 'also a StartingSequenceNumber'),
                              ConsumerARN=carn, ShardId=shard,
                              StartingPosition={'Type': typ, 'SequenceNumber': rec['SequenceNumber']})
        self.assert_error('InvalidArgumentException',
                          'Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. '
                          'Current request has no timestamp parameter.',
                          ConsumerARN=carn, ShardId=shard, StartingPosition={'Type': 'AT_TIMESTAMP'})
        # none of the failed calls counts as a subscription: a real one still works right away
        sub = self.subscribe(carn, shard, 'TRIM_HORIZON')
        self.assertTrue(sub.wait_records(1), sub.describe())
        self.assert_same_records(sub.records(), [rec], 'after the errors')

    def test_second_subscription_within_5s_then_takeover(self):
        name, arns = self.make_stream(1)
        carn, shard = arns['c'], h.shard_id(0)
        first = self.subscribe(carn, shard, 'LATEST')
        a = self.put(name, b'first')
        self.assertTrue(first.wait_seq(a['SequenceNumber']), first.describe())
        # within 5 s: refused with an ordinary HTTP 400 error; the first subscription is unaffected
        self.assert_error('ResourceInUseException', ConsumerARN=carn, ShardId=shard,
                          StartingPosition={'Type': 'LATEST'})
        time.sleep(1.1)
        self.assert_error('ResourceInUseException', ConsumerARN=carn, ShardId=shard,
                          StartingPosition={'Type': 'TRIM_HORIZON'})
        b = self.put(name, b'still first')
        self.assertTrue(first.wait_seq(b['SequenceNumber']), first.describe())
        self.assertFalse(first.ended.is_set(), first.describe())
        # another consumer, or another shard, is not affected by the rule
        other_name, other = self.make_stream(1, consumers=('other',))
        self.subscribe(other['other'], shard, 'LATEST')

        # after 5 s: the new subscription takes over; the old stream ends or fails with ResourceInUseException
        left = first.started + TAKEOVER_S + 0.3 - time.monotonic()
        if left > 0:
            time.sleep(left)
        second = self.subscribe(carn, shard, 'AFTER_SEQUENCE_NUMBER', SequenceNumber=b['SequenceNumber'])
        self.assertTrue(first.wait_end(3.0), 'old subscription still open 3 s after the takeover: %s'
                        % first.describe())
        if first.error is not None:
            self.assertIsInstance(first.error, EventStreamError, repr(first.error))
            self.assertEqual(first.error.response.get('Error', {}).get('Code'), 'ResourceInUseException',
                             first.error.response)
        c = self.put(name, b'second')
        self.assertTrue(second.wait_seq(c['SequenceNumber']), second.describe())
        self.assertIsNone(second.error)
        self.assert_same_records(first.records(), [a, b], 'old subscription')
        self.assert_same_records(second.records(), [c], 'new subscription')


# ---------------------------------------------------------------------------
# 8. several subscriptions at once
# ---------------------------------------------------------------------------

class ConcurrentTest(Base):

    def test_three_shards_three_threads(self):
        name, arns = self.make_stream(3)
        carn = arns['c']
        shards = [h.shard_id(i) for i in range(3)]
        ranges = h.hash_ranges(3)
        early = [self.put(name, payload('e', i), pk='e%d' % i, ExplicitHashKey=str(ranges[i % 3][0] + i))
                 for i in range(6)]
        subs, errors = {}, []
        barrier = threading.Barrier(3)

        def subscribe(shard):
            try:
                barrier.wait(5)
                subs[shard] = Subscription(self.client, carn, shard, 'TRIM_HORIZON')
            except Exception as e:
                errors.append((shard, e))

        threads = [threading.Thread(target=subscribe, args=(s,)) for s in shards]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        for s in subs.values():
            self.addCleanup(s.close)
        self.assertEqual(errors, [])
        self.assertEqual(sorted(subs), shards)

        # writes from three threads too, spread by explicit hash key over the three shards
        late, lock = [], threading.Lock()

        def produce(k):
            for i in range(10):
                lo, hi = ranges[(i + k) % 3]
                rec = self.put(name, payload('l%d' % k, i), pk='l%d-%d' % (k, i), ExplicitHashKey=str(lo + (hi - lo) // (i + 2)))
                with lock:
                    late.append(rec)

        producers = [threading.Thread(target=produce, args=(k,)) for k in range(3)]
        for t in producers:
            t.start()
        for t in producers:
            t.join(15)
        self.assertEqual(len(late), 30)
        for shard in shards:
            expected = sorted([p for p in early + late if p['ShardId'] == shard], key=lambda p: int(p['SequenceNumber']))
            self.assertEqual(len(expected), 2 + 10)
            sub = subs[shard]
            self.assertTrue(sub.wait_records(len(expected)), '%s: %s' % (shard, sub.describe()))
            self.assertTrue(sub.wait_empty_event_after(0), '%s: %s' % (shard, sub.describe()))
            self.assertIsNone(sub.error, shard)
            self.assert_same_records(sub.records(), expected, shard)


if __name__ == '__main__':
    unittest.main()
