"""Control plane through boto3: resharding, tags, retention, encryption, monitoring, limits, stream
mode, record size, warm throughput, account settings, resource policies, consumers, persistence.

Run:  /usr/bin/python3 -m unittest -v tests/integration/test_control_plane.py   (from the repo root)

Expectations come from /work/shared/reference/kinesis-behaviour.md (sections 2.3, 10-13, 16) and
kinesis-api.md, i.e. from the real AWS service, not from the server under test.  Operations that only
the newest model knows are sent with a client built on that model (harness.LATEST_MODEL_FILE); tests
that need them are skipped when it is missing.
"""

import datetime
import json
import os
import re
import shutil
import tempfile
import time
import unittest

from botocore.exceptions import ClientError

from . import harness as h

ACCT = h.ACCOUNT_ID
MAX = h.MAX_HASH_KEY
HALF = 2 ** 127
ALL_METRICS = {'IncomingBytes', 'IncomingRecords', 'OutgoingBytes', 'OutgoingRecords',
               'WriteProvisionedThroughputExceeded', 'ReadProvisionedThroughputExceeded',
               'IteratorAgeMilliseconds'}
KMS_KEY = 'alias/aws/kinesis'

SERVER = None
CLIENT = None


def setUpModule():
    global SERVER, CLIENT
    SERVER = h.CinesisServer().start()
    CLIENT = h.make_client(SERVER.endpoint, latest_model=True)
    Base.server = SERVER
    Base.client = CLIENT


def tearDownModule():
    h.stop_server_checked(SERVER)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def not_found(name):
    return 'Stream %s under account %s not found.' % (name, ACCT)


def not_active(name, state):
    return 'Stream %s under account %s not ACTIVE, instead in state %s' % (name, ACCT, state)


def split_range_error(key, shard, name, start, end):
    return ('NewStartingHashKey %s used in SplitShard() on shard %s in stream %s under account %s is not both '
            "greater than one plus the shard's StartingHashKey %s and less than the shard's EndingHashKey %s."
            % (key, shard, name, ACCT, start, end))


def shard_limit_error(current, limit, additional):
    return ('This request would exceed the shard limit for the account %s in %s. Current shard count for the '
            'account: %d. Limit: %d. Number of additional shards that would have resulted from this request: %d. '
            'Refer to the AWS Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) '
            'for current limits and how to request higher limits.' % (ACCT, h.REGION, current, limit, additional))


def rng(shard):
    r = shard['HashKeyRange']
    return int(r['StartingHashKey']), int(r['EndingHashKey'])


def is_open(shard):
    return 'EndingSequenceNumber' not in shard['SequenceNumberRange']


def shard_index(shard_id):
    return int(shard_id.split('-', 1)[1])


def list_all_shards(client, name, **kw):
    shards, token = [], None
    for _ in range(100):
        resp = client.list_shards(NextToken=token) if token else client.list_shards(StreamName=name, **kw)
        shards += resp['Shards']
        token = resp.get('NextToken')
        if not token:
            return shards
    raise AssertionError('ListShards kept returning NextToken')


def md5_child(pk, children):
    """The open shard (id, (lo, hi)) whose range holds MD5(pk)."""
    hk = h.md5_hash_key(pk)
    for sid, (lo, hi) in children:
        if lo <= hk <= hi:
            return sid
    raise AssertionError('no shard for %s' % pk)


def open_ranges_tile(testcase, shards):
    """Open shards tile [0, 2^128-1] without gaps or overlaps."""
    ranges = sorted(rng(s) for s in shards if is_open(s))
    testcase.assertEqual(ranges[0][0], 0)
    testcase.assertEqual(ranges[-1][1], MAX)
    for (a_lo, a_hi), (b_lo, b_hi) in zip(ranges, ranges[1:]):
        testcase.assertEqual(a_hi + 1, b_lo, ranges)


class Base(h.ServerTestCase):
    client = None

    # -- errors ----------------------------------------------------------------
    def expect_error(self, code, fn, message=None, regex=None, codes=None, **kwargs):
        with self.assertRaises(ClientError) as ctx:
            fn(**kwargs)
        got_code, got_msg = h.error_of(ctx.exception)
        if codes is not None:
            self.assertIn(got_code, codes, 'error code (message %r)' % (got_msg,))
        else:
            self.assertEqual(got_code, code, 'error code (message %r)' % (got_msg,))
        self.assertEqual(ctx.exception.response['ResponseMetadata']['HTTPStatusCode'], 400)
        if message is not None:
            self.assertEqual(got_msg, message)
        if regex is not None:
            self.assertRegex(got_msg or '', regex)
        return got_msg

    def need(self, *operations):
        for op in operations:
            if not h.client_has_operation(self.client, op):
                self.skipTest('boto3 model lacks %s (set CINESIS_LATEST_MODEL)' % op)

    # -- streams -----------------------------------------------------------------
    def new_stream(self, shards=1, prefix='cp'):
        return h.create_stream(self, self.client, shards, prefix)

    def wait_active(self, name, timeout=10.0):
        return h.wait_active(self.client, name, timeout)

    def summary(self, name):
        return self.client.describe_stream_summary(StreamName=name)['StreamDescriptionSummary']

    def put(self, name, pk, data, **kw):
        return self.client.put_record(StreamName=name, PartitionKey=pk, Data=data, **kw)

    def put_many(self, name, tag, n, keys=12):
        """n PutRecord calls over `keys` partition keys; returns [(pk, data, ShardId, SequenceNumber)]."""
        out = []
        for i in range(n):
            pk = 'pk-%02d' % (i % keys)
            data = ('%s-%03d' % (tag, i)).encode()
            r = self.put(name, pk, data)
            out.append((pk, data, r['ShardId'], r['SequenceNumber']))
        return out

    def read_to_end(self, name, shard_id, max_calls=60):
        """Read a CLOSED shard from TRIM_HORIZON until NextShardIterator disappears.

        Returns (records, last GetRecords response)."""
        it = self.client.get_shard_iterator(StreamName=name, ShardId=shard_id,
                                            ShardIteratorType='TRIM_HORIZON')['ShardIterator']
        records = []
        for _ in range(max_calls):
            resp = self.client.get_records(ShardIterator=it)
            records += resp['Records']
            it = resp.get('NextShardIterator')
            if it is None:
                return records, resp
            # "returned ... only when the end of the current shard is reached" [model]
            self.assertNotIn('ChildShards', resp, 'ChildShards before the end of closed shard %s' % shard_id)
        self.fail('closed shard %s: NextShardIterator never went away after %d GetRecords' % (shard_id, max_calls))

    def read_lineage(self, name):
        """Every record of the stream, shard by shard in index order (parents before children).

        Closed shards are read to their end, open ones until caught up.  Returns {shard_id: records}."""
        out = {}
        for shard in sorted(list_all_shards(self.client, name), key=lambda s: shard_index(s['ShardId'])):
            sid = shard['ShardId']
            if is_open(shard):
                out[sid] = h.read_shard(self.client, name, sid)
            else:
                out[sid] = self.read_to_end(name, sid)[0]
        return out

    def assertNothingLost(self, puts, by_shard):
        """Every put is read exactly once, each in the shard PutRecord named, and in put order per key."""
        got = [(r['PartitionKey'], r['Data'], sid, r['SequenceNumber'])
               for sid in sorted(by_shard, key=shard_index) for r in by_shard[sid]]
        self.assertEqual(sorted(got), sorted(puts), 'records read != records put')
        self.assertEqual(len(set((g[2], g[3]) for g in got)), len(got), 'a record was read twice')
        for pk in set(p[0] for p in puts):
            self.assertEqual([g[1] for g in got if g[0] == pk], [p[1] for p in puts if p[0] == pk],
                             'order of partition key %s' % pk)


# ---------------------------------------------------------------------------
# 1. SplitShard
# ---------------------------------------------------------------------------

class TestSplitShard(Base):

    def test_split_topology_routing_and_child_shards(self):
        name = self.new_stream(1, 'cp-split')
        parent = h.shard_id(0)
        c1, c2 = h.shard_id(1), h.shard_id(2)
        before = self.put_many(name, 'before', 36)
        self.assertEqual({p[2] for p in before}, {parent})
        parent_start_seq = list_all_shards(self.client, name)[0]['SequenceNumberRange']['StartingSequenceNumber']

        self.assertEqual(self.client.split_shard(StreamName=name, ShardToSplit=parent,
                                                 NewStartingHashKey=str(HALF))['ResponseMetadata']['HTTPStatusCode'],
                         200)
        self.wait_active(name)

        shards = {s['ShardId']: s for s in list_all_shards(self.client, name)}
        self.assertEqual(sorted(shards), [parent, c1, c2])
        p = shards[parent]
        self.assertIn('EndingSequenceNumber', p['SequenceNumberRange'], p)
        self.assertRegex(p['SequenceNumberRange']['EndingSequenceNumber'], r'^(0|[1-9]\d{0,128})$')
        self.assertEqual(p['SequenceNumberRange']['StartingSequenceNumber'], parent_start_seq)
        self.assertEqual(rng(p), (0, MAX))
        self.assertNotIn('ParentShardId', p)
        for sid, want in ((c1, (0, HALF - 1)), (c2, (HALF, MAX))):
            s = shards[sid]
            self.assertEqual(rng(s), want, sid)
            self.assertEqual(s['HashKeyRange'], {'StartingHashKey': str(want[0]), 'EndingHashKey': str(want[1])})
            self.assertEqual(s.get('ParentShardId'), parent, sid)
            self.assertNotIn('AdjacentParentShardId', s, sid)
            self.assertTrue(is_open(s), sid)
            self.assertRegex(s['SequenceNumberRange']['StartingSequenceNumber'], h.SEQ_RE)
        ending = int(p['SequenceNumberRange']['EndingSequenceNumber'])
        for _, _, _, seq in before:
            self.assertLessEqual(int(seq), ending, 'record %s beyond the parent EndingSequenceNumber' % seq)
        # DescribeStream agrees with ListShards; summary counts open shards only
        desc = self.client.describe_stream(StreamName=name)['StreamDescription']
        self.assertEqual({s['ShardId']: s for s in desc['Shards']}, shards)
        self.assertEqual(self.summary(name)['OpenShardCount'], 2)

        # after the split writes go to the children, routed by MD5(partition key)
        children = [(c1, (0, HALF - 1)), (c2, (HALF, MAX))]
        after = self.put_many(name, 'after', 36)
        for pk, _, sid, _ in after:
            self.assertEqual(sid, md5_child(pk, children), pk)
        self.assertEqual({p[2] for p in after}, {c1, c2}, 'the 12 keys should hit both halves')
        # explicit hash keys at the boundary
        self.assertEqual(self.put(name, 'x', b'lo', ExplicitHashKey=str(HALF - 1))['ShardId'], c1)
        self.assertEqual(self.put(name, 'x', b'hi', ExplicitHashKey=str(HALF))['ShardId'], c2)

        # the parent ends: no NextShardIterator, ChildShards lists both children
        precs, last = self.read_to_end(name, parent)
        self.assertEqual([(r['PartitionKey'], r['Data'], r['SequenceNumber']) for r in precs],
                         [(p[0], p[1], p[3]) for p in before])
        self.assertNotIn('NextShardIterator', last)
        self.assertIn('ChildShards', last, last)
        self.assertEqual(sorted(last['ChildShards'], key=lambda c: c['ShardId']), [
            {'ShardId': c1, 'ParentShards': [parent],
             'HashKeyRange': {'StartingHashKey': '0', 'EndingHashKey': str(HALF - 1)}},
            {'ShardId': c2, 'ParentShards': [parent],
             'HashKeyRange': {'StartingHashKey': str(HALF), 'EndingHashKey': str(MAX)}},
        ])

        by_shard = self.read_lineage(name)
        for sid in (c1, c2):
            by_shard[sid] = [r for r in by_shard[sid] if r['PartitionKey'] != 'x']
        self.assertNothingLost(before + after, by_shard)

    def test_split_hash_key_must_be_strictly_inside(self):
        name = self.new_stream(1, 'cp-splitbad')
        s0 = h.shard_id(0)
        for key in (0, 1, MAX, MAX + 1):
            self.expect_error('InvalidArgumentException', self.client.split_shard,
                              split_range_error(key, s0, name, 0, MAX),
                              StreamName=name, ShardToSplit=s0, NewStartingHashKey=str(key))
        self.assertEqual(self.summary(name)['StreamStatus'], 'ACTIVE')
        self.assertEqual([s['ShardId'] for s in list_all_shards(self.client, name)], [s0])

        # StartingHashKey + 1 < key  ->  2 is the smallest key accepted on [0, MAX]
        self.client.split_shard(StreamName=name, ShardToSplit=s0, NewStartingHashKey='2')
        self.wait_active(name)
        shards = {s['ShardId']: s for s in list_all_shards(self.client, name)}
        self.assertEqual(rng(shards[h.shard_id(1)]), (0, 1))
        self.assertEqual(rng(shards[h.shard_id(2)]), (2, MAX))
        # a shard with a non-zero start: start+1 and end are rejected, the text names its own range
        s2 = h.shard_id(2)
        for key in (3, MAX):
            self.expect_error('InvalidArgumentException', self.client.split_shard,
                              split_range_error(key, s2, name, 2, MAX),
                              StreamName=name, ShardToSplit=s2, NewStartingHashKey=str(key))

    def test_split_closed_unknown_shard_and_unknown_stream(self):
        name = self.new_stream(1, 'cp-splitclosed')
        s0 = h.shard_id(0)
        self.client.split_shard(StreamName=name, ShardToSplit=s0, NewStartingHashKey=str(HALF))
        self.wait_active(name)
        # the parent is closed now
        self.expect_error('InvalidArgumentException', self.client.split_shard,
                          StreamName=name, ShardToSplit=s0, NewStartingHashKey=str(HALF // 2))
        self.assertEqual(len(list_all_shards(self.client, name)), 3)
        self.expect_error('ResourceNotFoundException', self.client.split_shard,
                          'Could not find shard shardId-000000000009 in stream %s under account %s.' % (name, ACCT),
                          StreamName=name, ShardToSplit='shardId-000000000009', NewStartingHashKey=str(HALF))
        missing = h.unique_name('cp-nostream')
        self.expect_error('ResourceNotFoundException', self.client.split_shard, not_found(missing),
                          StreamName=missing, ShardToSplit=s0, NewStartingHashKey=str(HALF))


# ---------------------------------------------------------------------------
# 2. MergeShards
# ---------------------------------------------------------------------------

class TestMergeShards(Base):

    def test_merge_adjacent_shards(self):
        name = self.new_stream(3, 'cp-merge')
        s0, s1, s2, s3 = (h.shard_id(i) for i in range(4))
        orig = {s['ShardId']: rng(s) for s in list_all_shards(self.client, name)}
        before = self.put_many(name, 'before', 36)

        self.expect_error('InvalidArgumentException', self.client.merge_shards,
                          'Shards %s and %s in stream %s under account %s are not an adjacent pair of shards '
                          'eligible for merging' % (s0, s2, name, ACCT),
                          StreamName=name, ShardToMerge=s0, AdjacentShardToMerge=s2)
        self.expect_error('ResourceNotFoundException', self.client.merge_shards,
                          'Could not find shard shardId-000000000009 in stream %s under account %s.' % (name, ACCT),
                          StreamName=name, ShardToMerge=s0, AdjacentShardToMerge='shardId-000000000009')
        self.assertEqual(len(list_all_shards(self.client, name)), 3)

        self.client.merge_shards(StreamName=name, ShardToMerge=s0, AdjacentShardToMerge=s1)
        self.wait_active(name)
        shards = {s['ShardId']: s for s in list_all_shards(self.client, name)}
        self.assertEqual(sorted(shards), [s0, s1, s2, s3])
        self.assertFalse(is_open(shards[s0]))
        self.assertFalse(is_open(shards[s1]))
        self.assertTrue(is_open(shards[s2]))
        self.assertTrue(is_open(shards[s3]))
        child = shards[s3]
        self.assertEqual(child.get('ParentShardId'), s0)
        self.assertEqual(child.get('AdjacentParentShardId'), s1)
        self.assertEqual(rng(child), (orig[s0][0], orig[s1][1]))
        self.assertEqual(rng(child), (0, 226854911280625642308916404954512140969))
        self.assertEqual(rng(shards[s2]), orig[s2])
        self.assertEqual(self.summary(name)['OpenShardCount'], 2)
        open_ranges_tile(self, shards.values())

        children = [(s3, rng(child)), (s2, orig[s2])]
        after = self.put_many(name, 'after', 36)
        for pk, _, sid, _ in after:
            self.assertEqual(sid, md5_child(pk, children), pk)

        for parent in (s0, s1):
            recs, last = self.read_to_end(name, parent)
            self.assertEqual([r['SequenceNumber'] for r in recs], [p[3] for p in before if p[2] == parent])
            self.assertNotIn('NextShardIterator', last)
            self.assertEqual(len(last.get('ChildShards', [])), 1, last)
            cs = last['ChildShards'][0]
            self.assertEqual(cs['ShardId'], s3)
            self.assertEqual(sorted(cs['ParentShards']), [s0, s1])
            self.assertEqual(cs['HashKeyRange'], child['HashKeyRange'])
        self.assertNothingLost(before + after, self.read_lineage(name))


# ---------------------------------------------------------------------------
# 3. UpdateShardCount + ListShards ShardFilter
# ---------------------------------------------------------------------------

class TestUpdateShardCount(Base):

    def assertUniformTopology(self, name, target):
        shards = list_all_shards(self.client, name)
        by_id = {s['ShardId']: s for s in shards}
        opened = sorted((s for s in shards if is_open(s)), key=rng)
        self.assertEqual(len(opened), target, [s['ShardId'] for s in opened])
        self.assertEqual([rng(s) for s in opened], h.hash_ranges(target))
        for s in opened:
            lo, hi = rng(s)
            for key in ('ParentShardId', 'AdjacentParentShardId'):
                if key not in s:
                    continue
                parent = by_id.get(s[key])
                self.assertIsNotNone(parent, '%s of %s: %s is not listed' % (key, s['ShardId'], s[key]))
                self.assertFalse(is_open(parent), '%s of %s is still open' % (key, s['ShardId']))
                p_lo, p_hi = rng(parent)
                self.assertTrue(p_lo <= hi and lo <= p_hi, '%s %s does not overlap %s' % (key, s[key], s['ShardId']))
            self.assertIn('ParentShardId', s, s['ShardId'])
        self.assertEqual(self.summary(name)['OpenShardCount'], target)
        return shards

    def test_scale_up_then_down_with_shard_filters(self):
        name = self.new_stream(2, 'cp-usc')
        originals = [h.shard_id(0), h.shard_id(1)]
        before = self.put_many(name, 'before', 24)

        resp = self.client.update_shard_count(StreamName=name, TargetShardCount=4, ScalingType='UNIFORM_SCALING')
        self.assertEqual(resp['StreamName'], name)
        self.assertEqual(resp['CurrentShardCount'], 2)
        self.assertEqual(resp['TargetShardCount'], 4)
        self.wait_active(name)
        self.assertUniformTopology(name, 4)
        middle = self.put_many(name, 'middle', 24)
        opened = sorted((s for s in list_all_shards(self.client, name) if is_open(s)), key=rng)
        for pk, _, sid, _ in middle:
            self.assertEqual(sid, md5_child(pk, [(s['ShardId'], rng(s)) for s in opened]), pk)

        # over double / below half of the current open count
        self.expect_error('LimitExceededException', self.client.update_shard_count,
                          'UpdateShardCount cannot scale up over double your current open shard count. '
                          'Current open shard count: 4, Target shard count: 9',
                          StreamName=name, TargetShardCount=9, ScalingType='UNIFORM_SCALING')
        self.expect_error('LimitExceededException', self.client.update_shard_count,
                          'UpdateShardCount cannot scale down below half your current open shard count. '
                          'Current open shard count: 4, Target shard count: 1',
                          StreamName=name, TargetShardCount=1, ScalingType='UNIFORM_SCALING')

        resp = self.client.update_shard_count(StreamName=name, TargetShardCount=2, ScalingType='UNIFORM_SCALING')
        self.assertEqual((resp['StreamName'], resp['CurrentShardCount'], resp['TargetShardCount']), (name, 4, 2))
        self.wait_active(name)
        shards = self.assertUniformTopology(name, 2)
        after = self.put_many(name, 'after', 24)

        all_ids = sorted(s['ShardId'] for s in shards)
        open_ids = sorted(s['ShardId'] for s in shards if is_open(s))
        ids = lambda flt: sorted(s['ShardId'] for s in list_all_shards(self.client, name, ShardFilter=flt))
        self.assertEqual(ids({'Type': 'AT_LATEST'}), open_ids)
        self.assertEqual(ids({'Type': 'FROM_TRIM_HORIZON'}), all_ids)
        self.assertEqual(ids({'Type': 'AT_TRIM_HORIZON'}), originals)
        self.assertNotIn(originals[0], open_ids)

        self.assertNothingLost(before + middle + after, self.read_lineage(name))

    def test_scale_down_four_to_two(self):
        name = self.new_stream(4, 'cp-usc-down')
        before = self.put_many(name, 'before', 24)
        resp = self.client.update_shard_count(StreamName=name, TargetShardCount=2, ScalingType='UNIFORM_SCALING')
        self.assertEqual((resp['StreamName'], resp['CurrentShardCount'], resp['TargetShardCount']), (name, 4, 2))
        self.wait_active(name)
        self.assertUniformTopology(name, 2)
        after = self.put_many(name, 'after', 24)
        self.assertNothingLost(before + after, self.read_lineage(name))

    def test_scale_limits(self):
        name = self.new_stream(2, 'cp-usc-lim')
        self.expect_error('LimitExceededException', self.client.update_shard_count,
                          'UpdateShardCount cannot scale up over double your current open shard count. '
                          'Current open shard count: 2, Target shard count: 5',
                          StreamName=name, TargetShardCount=5, ScalingType='UNIFORM_SCALING')
        name4 = self.new_stream(4, 'cp-usc-lim4')
        self.expect_error('LimitExceededException', self.client.update_shard_count,
                          'UpdateShardCount cannot scale down below half your current open shard count. '
                          'Current open shard count: 4, Target shard count: 1',
                          StreamName=name4, TargetShardCount=1, ScalingType='UNIFORM_SCALING')
        for n in (name, name4):
            self.assertEqual(self.summary(n)['StreamStatus'], 'ACTIVE')
        self.assertEqual(len(list_all_shards(self.client, name)), 2)
        self.assertEqual(len(list_all_shards(self.client, name4)), 4)


# ---------------------------------------------------------------------------
# 4. UPDATING status (dedicated server, --update-stream-ms 1500)
# ---------------------------------------------------------------------------

class TestUpdatingStatus(Base):
    UPDATE_MS = 1500

    @classmethod
    def setUpClass(cls):
        cls.server = h.CinesisServer(update_stream_ms=cls.UPDATE_MS).start()
        cls.client = h.make_client(cls.server.endpoint, latest_model=True)

    @classmethod
    def tearDownClass(cls):
        h.stop_server_checked(cls.server)

    def test_split_while_updating(self):
        name = self.new_stream(1, 'cp-upd')
        s0 = h.shard_id(0)
        before = self.put_many(name, 'before', 6)
        t0 = time.time()
        self.client.split_shard(StreamName=name, ShardToSplit=s0, NewStartingHashKey=str(HALF))
        self.assertEqual(self.summary(name)['StreamStatus'], 'UPDATING')
        self.assertEqual(self.client.describe_stream(StreamName=name)['StreamDescription']['StreamStatus'],
                         'UPDATING')
        self.expect_error('ResourceInUseException', self.client.split_shard, not_active(name, 'UPDATING'),
                          StreamName=name, ShardToSplit=s0, NewStartingHashKey=str(HALF // 2))
        self.expect_error('ResourceInUseException', self.client.update_shard_count, not_active(name, 'UPDATING'),
                          StreamName=name, TargetShardCount=2, ScalingType='UNIFORM_SCALING')

        # reads and writes keep working while UPDATING [model: SplitShard, kinesis-behaviour.md section 10]
        during = []
        with self.subTest('GetRecords while UPDATING'):
            recs = h.read_shard(self.client, name, s0)
            self.assertEqual([r['SequenceNumber'] for r in recs], [p[3] for p in before])
        with self.subTest('PutRecord while UPDATING'):
            r = self.put(name, 'during-pk', b'during-1')
            during.append(('during-pk', b'during-1', r['ShardId'], r['SequenceNumber']))
        with self.subTest('PutRecords while UPDATING'):
            r = self.client.put_records(StreamName=name, Records=[{'PartitionKey': 'during-pk', 'Data': b'during-2'}])
            self.assertEqual(r.get('FailedRecordCount', 0), 0, r['Records'])
            during.append(('during-pk', b'during-2', r['Records'][0]['ShardId'], r['Records'][0]['SequenceNumber']))
        self.assertEqual(self.summary(name)['StreamStatus'], 'UPDATING',
                         'UPDATING ended before %.0f ms' % ((time.time() - t0) * 1000))

        while self.summary(name)['StreamStatus'] == 'UPDATING':
            self.assertLess(time.time() - t0, 6.0, 'still UPDATING after 6 s')
            time.sleep(0.05)
        elapsed = time.time() - t0
        self.assertEqual(self.summary(name)['StreamStatus'], 'ACTIVE')
        self.assertGreaterEqual(elapsed, self.UPDATE_MS / 1000.0 * 0.8)
        shards = {s['ShardId']: s for s in list_all_shards(self.client, name)}
        self.assertEqual(sorted(shards), [s0, h.shard_id(1), h.shard_id(2)])
        self.assertFalse(is_open(shards[s0]))
        after = self.put_many(name, 'after', 6)
        self.assertNothingLost(before + during + after, self.read_lineage(name))
        # once ACTIVE again the next reshard is accepted
        self.client.split_shard(StreamName=name, ShardToSplit=h.shard_id(1), NewStartingHashKey=str(HALF // 2))
        self.assertEqual(self.summary(name)['StreamStatus'], 'UPDATING')

    def test_merge_while_updating_blocks_other_updates(self):
        name = self.new_stream(2, 'cp-upd-merge')
        s0, s1 = h.shard_id(0), h.shard_id(1)
        self.client.merge_shards(StreamName=name, ShardToMerge=s0, AdjacentShardToMerge=s1)
        t0 = time.time()
        self.assertEqual(self.summary(name)['StreamStatus'], 'UPDATING')
        self.expect_error('ResourceInUseException', self.client.merge_shards, not_active(name, 'UPDATING'),
                          StreamName=name, ShardToMerge=s0, AdjacentShardToMerge=s1)
        self.expect_error('ResourceInUseException', self.client.split_shard, not_active(name, 'UPDATING'),
                          StreamName=name, ShardToSplit=s1, NewStartingHashKey=str(HALF + HALF // 2))
        # only one UPDATING operation at a time (kinesis-behaviour.md section 10); no text documented
        self.expect_error('ResourceInUseException', self.client.start_stream_encryption,
                          StreamName=name, EncryptionType='KMS', KeyId=KMS_KEY)
        self.expect_error('ResourceInUseException', self.client.update_stream_mode,
                          StreamARN=h.stream_arn(name), StreamModeDetails={'StreamMode': 'ON_DEMAND'})
        self.assertLess(time.time() - t0, self.UPDATE_MS / 1000.0, 'checks took too long to be meaningful')
        self.wait_active(name, timeout=6.0)
        shards = {s['ShardId']: s for s in list_all_shards(self.client, name)}
        self.assertEqual(sorted(shards), [s0, s1, h.shard_id(2)])
        self.assertEqual(rng(shards[h.shard_id(2)]), (0, MAX))
        self.assertEqual(self.summary(name)['EncryptionType'], 'NONE')
        self.assertEqual(self.summary(name)['StreamModeDetails'], {'StreamMode': 'PROVISIONED'})


# ---------------------------------------------------------------------------
# 1b/7. Shard limit and DescribeLimits (dedicated server, --shard-limit 2)
# ---------------------------------------------------------------------------

class TestShardLimit(Base):

    @classmethod
    def setUpClass(cls):
        cls.server = h.CinesisServer('--shard-limit', 2).start()
        cls.client = h.make_client(cls.server.endpoint, latest_model=True)

    @classmethod
    def tearDownClass(cls):
        h.stop_server_checked(cls.server)

    def limits(self):
        return self.client.describe_limits()

    def test_split_over_the_limit_and_describe_limits(self):
        lim = self.limits()
        self.assertEqual(lim['ShardLimit'], 2)
        self.assertEqual(lim['OpenShardCount'], 0)
        self.assertEqual(lim['OnDemandStreamCount'], 0)
        self.assertIsInstance(lim['OnDemandStreamCountLimit'], int)
        a = self.new_stream(1, 'cp-lim-a')
        self.assertEqual(self.limits()['OpenShardCount'], 1)
        b = self.new_stream(1, 'cp-lim-b')
        self.assertEqual(self.limits()['OpenShardCount'], 2)

        self.expect_error('LimitExceededException', self.client.split_shard, shard_limit_error(2, 2, 1),
                          StreamName=a, ShardToSplit=h.shard_id(0), NewStartingHashKey=str(HALF))
        self.assertEqual(len(list_all_shards(self.client, a)), 1)
        self.assertEqual(self.summary(a)['StreamStatus'], 'ACTIVE')

        self.client.delete_stream(StreamName=b)
        h.wait_deleted(self.client, b)
        self.assertEqual(self.limits()['OpenShardCount'], 1)
        self.client.split_shard(StreamName=a, ShardToSplit=h.shard_id(0), NewStartingHashKey=str(HALF))
        self.wait_active(a)
        # the closed parent does not count
        self.assertEqual(self.limits()['OpenShardCount'], 2)
        self.assertEqual(self.limits()['ShardLimit'], 2)


# ---------------------------------------------------------------------------
# 5. Tags
# ---------------------------------------------------------------------------

def tag_dict(tags):
    return {t['Key']: t.get('Value', '') for t in tags}


class TestTags(Base):

    def list_tags_paged(self, name, limit):
        pages, start = [], None
        for _ in range(60):
            kw = {'Limit': limit}
            if start is not None:
                kw['ExclusiveStartTagKey'] = start
            resp = self.client.list_tags_for_stream(StreamName=name, **kw)
            pages.append(resp)
            self.assertLessEqual(len(resp['Tags']), limit)
            if not resp['HasMoreTags']:
                return pages
            self.assertEqual(len(resp['Tags']), limit, 'short page with HasMoreTags')
            start = resp['Tags'][-1]['Key']
        self.fail('HasMoreTags never became false')

    def test_stream_tags_lifecycle_and_paging(self):
        self.need('TagResource', 'ListTagsForResource', 'UntagResource')
        name = h.unique_name('cp-tags')
        self.client.create_stream(StreamName=name, ShardCount=1, Tags={'team': 'core', 'env': 'dev'})
        self.addCleanup(h._delete_quietly, self.client, name)
        self.wait_active(name)
        resp = self.client.list_tags_for_stream(StreamName=name)
        self.assertEqual(tag_dict(resp['Tags']), {'team': 'core', 'env': 'dev'})
        self.assertIs(resp['HasMoreTags'], False)

        self.client.add_tags_to_stream(StreamName=name, Tags={'env': 'prod', 'owner': 'a.b@example.com',
                                                              'cost-center': '42', 'empty': '',
                                                              'path': 'x/y=z+1 _-.', 'zeta': 'last'})
        want = {'team': 'core', 'env': 'prod', 'owner': 'a.b@example.com', 'cost-center': '42', 'empty': '',
                'path': 'x/y=z+1 _-.', 'zeta': 'last'}
        self.assertEqual(tag_dict(self.client.list_tags_for_stream(StreamName=name)['Tags']), want)

        for limit in (1, 3):
            pages = self.list_tags_paged(name, limit)
            keys = [t['Key'] for p in pages for t in p['Tags']]
            self.assertEqual(len(keys), len(set(keys)), 'duplicate tag across pages: %r' % keys)
            self.assertEqual({t['Key']: t.get('Value', '') for p in pages for t in p['Tags']}, want)
            self.assertGreaterEqual(len(pages), -(-len(want) // limit))
        resp = self.client.list_tags_for_stream(StreamName=name, Limit=len(want))
        self.assertEqual(len(resp['Tags']), len(want))
        self.assertIs(resp['HasMoreTags'], False)

        self.client.remove_tags_from_stream(StreamName=name, TagKeys=['team', 'empty'])
        del want['team'], want['empty']
        self.assertEqual(tag_dict(self.client.list_tags_for_stream(StreamName=name)['Tags']), want)

        # the same tags through the ARN-based operations
        arn = h.stream_arn(name)
        self.assertEqual(tag_dict(self.client.list_tags_for_resource(ResourceARN=arn)['Tags']), want)
        self.client.tag_resource(ResourceARN=arn, Tags={'via': 'arn', 'env': 'stage'})
        want.update({'via': 'arn', 'env': 'stage'})
        self.assertEqual(tag_dict(self.client.list_tags_for_stream(StreamName=name)['Tags']), want)
        self.assertEqual(tag_dict(self.client.list_tags_for_resource(ResourceARN=arn)['Tags']), want)
        self.client.untag_resource(ResourceARN=arn, TagKeys=['via', 'zeta'])
        del want['via'], want['zeta']
        self.assertEqual(tag_dict(self.client.list_tags_for_resource(ResourceARN=arn)['Tags']), want)
        self.assertEqual(tag_dict(self.client.list_tags_for_stream(StreamName=name)['Tags']), want)

        missing = h.unique_name('cp-nostream')
        self.expect_error('ResourceNotFoundException', self.client.list_tags_for_stream, not_found(missing),
                          StreamName=missing)
        self.expect_error('ResourceNotFoundException', self.client.add_tags_to_stream, not_found(missing),
                          StreamName=missing, Tags={'a': 'b'})
        self.expect_error('ResourceNotFoundException', self.client.tag_resource,
                          ResourceARN=h.stream_arn(missing), Tags={'a': 'b'})

    def test_consumer_tags_by_arn(self):
        self.need('TagResource', 'ListTagsForResource', 'UntagResource')
        name = self.new_stream(1, 'cp-ctags')
        self.client.add_tags_to_stream(StreamName=name, Tags={'stream-tag': 's'})
        consumer = self.client.register_stream_consumer(StreamARN=h.stream_arn(name), ConsumerName='tagged',
                                                        Tags={'c1': 'v1'})['Consumer']
        carn = consumer['ConsumerARN']
        self.assertEqual(tag_dict(self.client.list_tags_for_resource(ResourceARN=carn)['Tags']), {'c1': 'v1'})
        self.client.tag_resource(ResourceARN=carn, Tags={'c2': 'v2', 'c1': 'v1b'})
        self.assertEqual(tag_dict(self.client.list_tags_for_resource(ResourceARN=carn)['Tags']),
                         {'c1': 'v1b', 'c2': 'v2'})
        self.client.untag_resource(ResourceARN=carn, TagKeys=['c1'])
        self.assertEqual(tag_dict(self.client.list_tags_for_resource(ResourceARN=carn)['Tags']), {'c2': 'v2'})
        # consumer and stream tags are separate
        self.assertEqual(tag_dict(self.client.list_tags_for_stream(StreamName=name)['Tags']), {'stream-tag': 's'})
        self.assertEqual(tag_dict(self.client.list_tags_for_resource(ResourceARN=h.stream_arn(name))['Tags']),
                         {'stream-tag': 's'})

    def test_at_most_50_tags(self):
        name = self.new_stream(1, 'cp-tags50')
        self.expect_error('InvalidArgumentException', self.client.add_tags_to_stream,
                          StreamName=name, Tags={'k%02d' % i: 'v' for i in range(51)})
        self.assertEqual(self.client.list_tags_for_stream(StreamName=name)['Tags'], [])
        self.client.add_tags_to_stream(StreamName=name, Tags={'k%02d' % i: 'v' for i in range(45)})
        self.expect_error('InvalidArgumentException', self.client.add_tags_to_stream,
                          StreamName=name, Tags={'n%02d' % i: 'v' for i in range(6)})
        # overwriting existing keys does not add tags
        self.client.add_tags_to_stream(StreamName=name, Tags={'k%02d' % i: 'w' for i in range(10)})
        self.client.add_tags_to_stream(StreamName=name, Tags={'n%02d' % i: 'v' for i in range(5)})
        tags = tag_dict(t for p in self.list_tags_paged(name, 50) for t in p['Tags'])
        self.assertEqual(len(tags), 50)
        self.assertEqual(tags['k00'], 'w')
        self.expect_error('InvalidArgumentException', self.client.add_tags_to_stream,
                          StreamName=name, Tags={'one-more': 'v'})
        if h.client_has_operation(self.client, 'TagResource'):
            self.expect_error('InvalidArgumentException', self.client.tag_resource,
                              ResourceARN=h.stream_arn(name), Tags={'one-more': 'v'})
        self.assertEqual(len(tag_dict(t for p in self.list_tags_paged(name, 50) for t in p['Tags'])), 50)

    def test_percent_in_tag_rejected(self):
        name = self.new_stream(1, 'cp-tagpct')
        msg = ('Failed to add tags to stream %s under account %s because some tags contained illegal characters. '
               "The allowed characters are Unicode letters, white-spaces, '_',',','/','=','+','-','@'." % (name, ACCT))
        self.expect_error('InvalidArgumentException', self.client.add_tags_to_stream, msg,
                          StreamName=name, Tags={'discount': '50%'})
        self.expect_error('InvalidArgumentException', self.client.add_tags_to_stream, msg,
                          StreamName=name, Tags={'100%': 'x'})
        self.assertEqual(self.client.list_tags_for_stream(StreamName=name)['Tags'], [])


    def test_tags_given_at_creation_are_checked_as_added_tags(self):
        # Regression: CreateStream and RegisterStreamConsumer stored any tags (a '%', a tab,
        # 51 of them), which AddTagsToStream/TagResource refuse.
        name = h.unique_name('cp-ctag')
        msg = ('Failed to add tags to stream %s under account %s because some tags contained illegal characters. '
               "The allowed characters are Unicode letters, white-spaces, '_',',','/','=','+','-','@'." % (name, ACCT))
        self.expect_error('InvalidArgumentException', self.client.create_stream, msg,
                          StreamName=name, ShardCount=1, Tags={'q%': '1'})
        self.expect_error('InvalidArgumentException', self.client.create_stream,
                          'Some tags contain invalid characters. Valid characters: Unicode letters, digits, '
                          'white space, _ . / = + - % @.',
                          StreamName=name, ShardCount=1, Tags={'a\tb': '1'})
        self.expect_error('InvalidArgumentException', self.client.create_stream,
                          StreamName=name, ShardCount=1, Tags={'t%02d' % i: 'v' for i in range(51)})
        self.expect_error('ResourceNotFoundException', self.client.describe_stream_summary, StreamName=name)
        other = self.new_stream(1, 'cp-ctag')
        self.expect_error('InvalidArgumentException', self.client.register_stream_consumer,
                          StreamARN=h.stream_arn(other), ConsumerName='c', Tags={'a%': '1'})
        self.assertEqual(self.client.list_stream_consumers(StreamARN=h.stream_arn(other))['Consumers'], [])


# ---------------------------------------------------------------------------
# 6. Retention
# ---------------------------------------------------------------------------

class TestRetention(Base):

    def test_increase_decrease_and_errors(self):
        name = self.new_stream(1, 'cp-ret')
        self.assertEqual(self.summary(name)['RetentionPeriodHours'], 24)
        self.client.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=48)
        self.assertEqual(self.summary(name)['RetentionPeriodHours'], 48)
        self.assertEqual(self.client.describe_stream(StreamName=name)['StreamDescription']['RetentionPeriodHours'],
                         48)

        self.expect_error('InvalidArgumentException', self.client.increase_stream_retention_period,
                          'Requested retention period (36 hours) for stream %s can not be shorter than existing '
                          'retention period (48 hours). Use DecreaseRetentionPeriod API.' % name,
                          StreamName=name, RetentionPeriodHours=36)
        self.expect_error('InvalidArgumentException', self.client.decrease_stream_retention_period,
                          'Requested retention period (72 hours) for stream %s can not be longer than existing '
                          'retention period (48 hours). Use IncreaseRetentionPeriod API.' % name,
                          StreamName=name, RetentionPeriodHours=72)
        for op in (self.client.decrease_stream_retention_period, self.client.increase_stream_retention_period):
            self.expect_error('InvalidArgumentException', op,
                              'Minimum allowed retention period is 24 hours. Requested retention period (12 hours) '
                              'is too short.', StreamName=name, RetentionPeriodHours=12)
        self.assertEqual(self.summary(name)['RetentionPeriodHours'], 48)

        self.client.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=24)
        self.assertEqual(self.summary(name)['RetentionPeriodHours'], 24)
        # the documented maximum is 8760 h (365 days); one more is the service's own check, in the
        # form kinesalite recorded against AWS when the maximum was 168 h
        self.client.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=8760)
        self.assertEqual(self.summary(name)['RetentionPeriodHours'], 8760)
        too_long = ('Maximum allowed retention period is 8760 hours. '
                    'Requested retention period (%d hours) is too long.')
        self.expect_error('InvalidArgumentException', self.client.increase_stream_retention_period,
                          too_long % 8761, StreamName=name, RetentionPeriodHours=8761)
        self.expect_error('InvalidArgumentException', self.client.decrease_stream_retention_period,
                          too_long % 9999, StreamName=name, RetentionPeriodHours=9999)
        missing = h.unique_name('cp-nostream')
        self.expect_error('ResourceNotFoundException', self.client.increase_stream_retention_period,
                          not_found(missing), StreamName=missing, RetentionPeriodHours=48)


# ---------------------------------------------------------------------------
# 7. Encryption, enhanced monitoring, stream mode, record size, warm throughput, account settings
# ---------------------------------------------------------------------------

class TestStreamSettings(Base):

    def test_stream_encryption(self):
        name = self.new_stream(1, 'cp-kms')
        desc = self.client.describe_stream(StreamName=name)['StreamDescription']
        self.assertEqual(desc.get('EncryptionType'), 'NONE')
        self.assertEqual(self.put(name, 'k', b'plain').get('EncryptionType', 'NONE'), 'NONE')

        self.client.start_stream_encryption(StreamName=name, EncryptionType='KMS', KeyId=KMS_KEY)
        self.wait_active(name)
        desc = self.client.describe_stream(StreamName=name)['StreamDescription']
        self.assertEqual((desc.get('EncryptionType'), desc.get('KeyId')), ('KMS', KMS_KEY))
        summ = self.summary(name)
        self.assertEqual((summ.get('EncryptionType'), summ.get('KeyId')), ('KMS', KMS_KEY))
        self.assertEqual(self.put(name, 'k', b'secret').get('EncryptionType'), 'KMS')
        resp = self.client.put_records(StreamName=name, Records=[{'Data': b'a', 'PartitionKey': 'k'}])
        self.assertEqual(resp.get('EncryptionType'), 'KMS')
        self.assertEqual([r['Data'] for r in h.read_shard(self.client, name, h.shard_id(0))],
                         [b'plain', b'secret', b'a'])

        self.client.stop_stream_encryption(StreamName=name, EncryptionType='KMS', KeyId=KMS_KEY)
        self.wait_active(name)
        desc = self.client.describe_stream(StreamName=name)['StreamDescription']
        self.assertEqual(desc.get('EncryptionType'), 'NONE')
        self.assertEqual(self.put(name, 'k', b'plain again').get('EncryptionType', 'NONE'), 'NONE')

    def test_enhanced_monitoring(self):
        name = self.new_stream(1, 'cp-mon')
        self.assertEqual(self.client.describe_stream(StreamName=name)['StreamDescription']['EnhancedMonitoring'],
                         [{'ShardLevelMetrics': []}])
        r = self.client.enable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=['IncomingBytes',
                                                                                       'OutgoingRecords'])
        self.assertEqual(r['StreamName'], name)
        self.assertEqual(set(r['CurrentShardLevelMetrics']), set())
        self.assertEqual(set(r['DesiredShardLevelMetrics']), {'IncomingBytes', 'OutgoingRecords'})
        r = self.client.enable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=['IncomingRecords'])
        self.assertEqual(set(r['CurrentShardLevelMetrics']), {'IncomingBytes', 'OutgoingRecords'})
        self.assertEqual(set(r['DesiredShardLevelMetrics']), {'IncomingBytes', 'OutgoingRecords', 'IncomingRecords'})
        self.wait_active(name)
        em = self.client.describe_stream(StreamName=name)['StreamDescription']['EnhancedMonitoring']
        self.assertEqual(len(em), 1)
        self.assertEqual(set(em[0]['ShardLevelMetrics']), {'IncomingBytes', 'OutgoingRecords', 'IncomingRecords'})
        self.assertEqual(set(self.summary(name)['EnhancedMonitoring'][0]['ShardLevelMetrics']),
                         {'IncomingBytes', 'OutgoingRecords', 'IncomingRecords'})

        r = self.client.disable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=['IncomingBytes'])
        self.assertEqual(r['StreamName'], name)
        self.assertEqual(set(r['CurrentShardLevelMetrics']), {'IncomingBytes', 'OutgoingRecords', 'IncomingRecords'})
        self.assertEqual(set(r['DesiredShardLevelMetrics']), {'OutgoingRecords', 'IncomingRecords'})
        self.wait_active(name)

        # "ALL" enables every metric (shown either as the seven names or as ALL)
        r = self.client.enable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=['ALL'])
        self.assertEqual(set(r['CurrentShardLevelMetrics']), {'OutgoingRecords', 'IncomingRecords'})
        desired = set(r['DesiredShardLevelMetrics'])
        self.assertTrue(desired - {'ALL'} == ALL_METRICS or desired == {'ALL'}, desired)
        self.wait_active(name)
        r = self.client.disable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=['ALL'])
        self.assertEqual(r['DesiredShardLevelMetrics'], [])
        self.wait_active(name)
        self.assertEqual(self.client.describe_stream(StreamName=name)['StreamDescription']['EnhancedMonitoring'],
                         [{'ShardLevelMetrics': []}])

    def test_stream_mode_on_demand_and_back(self):
        name = self.new_stream(2, 'cp-mode')
        arn = h.stream_arn(name)
        self.assertEqual(self.summary(name)['StreamModeDetails'], {'StreamMode': 'PROVISIONED'})
        self.client.update_stream_mode(StreamARN=arn, StreamModeDetails={'StreamMode': 'ON_DEMAND'})
        self.wait_active(name)
        self.assertEqual(self.summary(name)['StreamModeDetails'], {'StreamMode': 'ON_DEMAND'})
        self.assertGreaterEqual(self.client.describe_limits()['OnDemandStreamCount'], 1)
        open_shards = [s for s in list_all_shards(self.client, name) if is_open(s)]
        on_demand = 'Request is invalid. Stream %s under account %s is in On-Demand mode.' % (name, ACCT)
        self.expect_error('ValidationException', self.client.split_shard, on_demand, StreamName=name,
                          ShardToSplit=open_shards[0]['ShardId'],
                          NewStartingHashKey=str((rng(open_shards[0])[0] + rng(open_shards[0])[1]) // 2))
        self.expect_error('ValidationException', self.client.update_shard_count, on_demand, StreamName=name,
                          TargetShardCount=len(open_shards) + 1, ScalingType='UNIFORM_SCALING')
        if len(open_shards) >= 2:
            a, b = sorted(open_shards, key=rng)[:2]
            self.expect_error('ValidationException', self.client.merge_shards, on_demand, StreamName=name,
                              ShardToMerge=a['ShardId'], AdjacentShardToMerge=b['ShardId'])
        # data still flows
        self.assertRegex(self.put(name, 'k', b'on-demand')['SequenceNumber'], h.SEQ_RE)

        self.client.update_stream_mode(StreamARN=arn, StreamModeDetails={'StreamMode': 'PROVISIONED'})
        self.wait_active(name)
        self.assertEqual(self.summary(name)['StreamModeDetails'], {'StreamMode': 'PROVISIONED'})

    def test_max_record_size(self):
        self.need('UpdateMaxRecordSize')
        name = self.new_stream(1, 'cp-maxrec')
        arn = h.stream_arn(name)
        self.assertEqual(self.summary(name).get('MaxRecordSizeInKiB', 1024), 1024)
        self.expect_error(None, self.put, codes=('ValidationException', 'InvalidArgumentException'),
                          name=name, pk='k', data=b'x' * (1025 * 1024))
        # out of 1024..10240 -> ValidationException (sent without botocore's own min/max check)
        unchecked = h.make_client(self.server.endpoint, latest_model=True, parameter_validation=False)
        for bad in (1023, 10241):
            self.expect_error('ValidationException', unchecked.update_max_record_size,
                              StreamARN=arn, MaxRecordSizeInKiB=bad)
        self.client.update_max_record_size(StreamARN=arn, MaxRecordSizeInKiB=2048)
        self.wait_active(name)
        self.assertEqual(self.summary(name)['MaxRecordSizeInKiB'], 2048)
        big = os.urandom(1536 * 1024)
        r = self.put(name, 'big', big)
        self.assertEqual(r['ShardId'], h.shard_id(0))
        recs = h.read_shard(self.client, name, h.shard_id(0))
        self.assertEqual(len(recs), 1)
        self.assertEqual(recs[0]['SequenceNumber'], r['SequenceNumber'])
        self.assertTrue(recs[0]['Data'] == big, 'the 1.5 MiB record came back altered (%d bytes)' % len(recs[0]['Data']))
        self.expect_error(None, self.put, codes=('ValidationException', 'InvalidArgumentException'),
                          name=name, pk='k', data=b'x' * (2049 * 1024))

    def test_account_settings_and_warm_throughput(self):
        self.need('DescribeAccountSettings', 'UpdateAccountSettings', 'UpdateStreamWarmThroughput')
        r = self.client.update_account_settings(MinimumThroughputBillingCommitment={'Status': 'ENABLED'})
        self.assertEqual(r['MinimumThroughputBillingCommitment']['Status'], 'ENABLED')
        d = self.client.describe_account_settings()['MinimumThroughputBillingCommitment']
        self.assertEqual(d['Status'], 'ENABLED')
        self.assertIsInstance(d.get('StartedAt'), datetime.datetime)
        self.expect_error('ValidationException', self.client.update_account_settings,
                          MinimumThroughputBillingCommitment={'Status': 'SOMETIMES'})

        name = h.unique_name('cp-warm')
        self.client.create_stream(StreamName=name, StreamModeDetails={'StreamMode': 'ON_DEMAND'})
        self.addCleanup(h._delete_quietly, self.client, name)
        self.wait_active(name)
        self.assertEqual(self.summary(name)['StreamModeDetails'], {'StreamMode': 'ON_DEMAND'})
        r = self.client.update_stream_warm_throughput(StreamName=name, WarmThroughputMiBps=100)
        self.assertEqual(r.get('StreamName'), name)
        self.assertEqual(r.get('StreamARN'), h.stream_arn(name))
        self.assertEqual(r['WarmThroughput']['TargetMiBps'], 100)
        self.wait_active(name)
        with self.subTest('DescribeStreamSummary shows the warm throughput'):
            summ = self.summary(name)
            self.assertIn('WarmThroughput', summ, 'StreamDescriptionSummary has no WarmThroughput after '
                                                  'UpdateStreamWarmThroughput(100): %r' % summ)
            self.assertEqual(summ['WarmThroughput'].get('TargetMiBps'), 100)
        # provisioned streams do not support warm throughput
        prov = self.new_stream(1, 'cp-warm-prov')
        self.expect_error('ValidationException', self.client.update_stream_warm_throughput,
                          StreamName=prov, WarmThroughputMiBps=100)

        r = self.client.update_account_settings(MinimumThroughputBillingCommitment={'Status': 'DISABLED'})
        status = r['MinimumThroughputBillingCommitment']['Status']
        # a commitment may have to run until its earliest allowed end
        self.assertIn(status, ('DISABLED', 'ENABLED_UNTIL_EARLIEST_ALLOWED_END'))
        self.assertEqual(self.client.describe_account_settings()['MinimumThroughputBillingCommitment']['Status'],
                         status)


# ---------------------------------------------------------------------------
# 8. Resource policies
# ---------------------------------------------------------------------------

def policy_for(arn, action):
    return json.dumps({
        'Version': '2012-10-17',
        'Statement': [{'Sid': 'cp', 'Effect': 'Allow',
                       'Principal': {'AWS': 'arn:aws:iam::%s:root' % ACCT},
                       'Action': action, 'Resource': arn}],
    })


class TestResourcePolicies(Base):

    def test_put_get_delete_on_stream_and_consumer(self):
        self.need('PutResourcePolicy', 'GetResourcePolicy', 'DeleteResourcePolicy')
        name = self.new_stream(1, 'cp-pol')
        arn = h.stream_arn(name)
        pol = policy_for(arn, ['kinesis:DescribeStreamSummary', 'kinesis:GetRecords'])
        self.client.put_resource_policy(ResourceARN=arn, Policy=pol)
        got = self.client.get_resource_policy(ResourceARN=arn)['Policy']
        self.assertEqual(json.loads(got), json.loads(pol))
        pol2 = policy_for(arn, 'kinesis:ListShards')
        self.client.put_resource_policy(ResourceARN=arn, Policy=pol2)
        self.assertEqual(json.loads(self.client.get_resource_policy(ResourceARN=arn)['Policy']), json.loads(pol2))

        carn = self.client.register_stream_consumer(StreamARN=arn, ConsumerName='pc')['Consumer']['ConsumerARN']
        cpol = policy_for(carn, 'kinesis:SubscribeToShard')
        self.client.put_resource_policy(ResourceARN=carn, Policy=cpol)
        self.assertEqual(json.loads(self.client.get_resource_policy(ResourceARN=carn)['Policy']), json.loads(cpol))
        # separate resources
        self.assertEqual(json.loads(self.client.get_resource_policy(ResourceARN=arn)['Policy']), json.loads(pol2))

        self.client.delete_resource_policy(ResourceARN=arn)
        self.assertEqual(json.loads(self.client.get_resource_policy(ResourceARN=arn).get('Policy') or '{}'), {})
        self.assertEqual(json.loads(self.client.get_resource_policy(ResourceARN=carn)['Policy']), json.loads(cpol))
        self.client.delete_resource_policy(ResourceARN=carn)
        self.assertEqual(json.loads(self.client.get_resource_policy(ResourceARN=carn).get('Policy') or '{}'), {})
        # nothing left to delete
        for resource in (arn, carn):
            self.expect_error('ResourceNotFoundException', self.client.delete_resource_policy,
                              'No resource policy found for resource ARN %s.' % resource, ResourceARN=resource)

        missing = h.stream_arn(h.unique_name('cp-nostream'))
        self.expect_error('ResourceNotFoundException', self.client.put_resource_policy,
                          ResourceARN=missing, Policy=policy_for(missing, 'kinesis:ListShards'))
        self.expect_error('ResourceNotFoundException', self.client.get_resource_policy, ResourceARN=missing)


# ---------------------------------------------------------------------------
# 9. Consumers
# ---------------------------------------------------------------------------

class TestConsumers(Base):

    def describe_consumer(self, **kw):
        return self.client.describe_stream_consumer(**kw)['ConsumerDescription']

    def wait_consumer_active(self, arn, timeout=3.0):
        deadline = time.time() + timeout
        while True:
            d = self.describe_consumer(ConsumerARN=arn)
            if d['ConsumerStatus'] == 'ACTIVE' or time.time() > deadline:
                return d
            time.sleep(0.05)

    def wait_consumer_gone(self, timeout=3.0, **kw):
        deadline = time.time() + timeout
        while True:
            try:
                d = self.describe_consumer(**kw)
            except ClientError as e:
                self.assertEqual(h.error_of(e)[0], 'ResourceNotFoundException', e)
                return
            self.assertEqual(d['ConsumerStatus'], 'DELETING')
            self.assertLess(time.time(), deadline, 'consumer still there %.0fs after deregistration' % timeout)
            time.sleep(0.05)

    def test_register_describe_list_deregister(self):
        name = self.new_stream(1, 'cp-cons')
        sarn = h.stream_arn(name)
        t0 = time.time()
        c = self.client.register_stream_consumer(StreamARN=sarn, ConsumerName='c1')['Consumer']
        t1 = time.time()
        self.assertEqual(c['ConsumerName'], 'c1')
        self.assertIn(c['ConsumerStatus'], ('CREATING', 'ACTIVE'))
        m = re.match(r'^%s/consumer/c1:(\d+)$' % re.escape(sarn), c['ConsumerARN'])
        self.assertIsNotNone(m, c['ConsumerARN'])
        epoch = int(m.group(1))
        self.assertTrue(int(t0) - 2 <= epoch <= t1 + 2, (epoch, t0))
        created = c['ConsumerCreationTimestamp'].timestamp()
        self.assertTrue(t0 - 2 <= created <= t1 + 2, (created, t0))
        self.assertLessEqual(abs(created - epoch), 1.0)

        d = self.wait_consumer_active(c['ConsumerARN'])
        self.assertEqual(d['ConsumerStatus'], 'ACTIVE')
        self.assertEqual((d['ConsumerName'], d['ConsumerARN'], d['StreamARN']), ('c1', c['ConsumerARN'], sarn))
        self.assertEqual(d['ConsumerCreationTimestamp'], c['ConsumerCreationTimestamp'])
        self.assertEqual(self.describe_consumer(StreamARN=sarn, ConsumerName='c1'), d)
        self.assertEqual(self.summary(name).get('ConsumerCount'), 1)

        self.expect_error('ResourceInUseException', self.client.register_stream_consumer,
                          StreamARN=sarn, ConsumerName='c1')

        names = ['c1'] + ['c%d' % i for i in range(2, 6)]
        for n in names[1:]:
            self.client.register_stream_consumer(StreamARN=sarn, ConsumerName=n)
        seen, token, pages = [], None, 0
        while True:
            kw = {'NextToken': token} if token else {}
            resp = self.client.list_stream_consumers(StreamARN=sarn, MaxResults=2, **kw)
            pages += 1
            self.assertLessEqual(len(resp['Consumers']), 2)
            for cons in resp['Consumers']:
                self.assertEqual(set(cons), {'ConsumerName', 'ConsumerARN', 'ConsumerStatus',
                                             'ConsumerCreationTimestamp'})
            seen += [cons['ConsumerName'] for cons in resp['Consumers']]
            token = resp.get('NextToken')
            if not token:
                break
            self.assertLess(pages, 10)
        self.assertEqual(sorted(seen), sorted(names))
        self.assertGreaterEqual(pages, 3)
        self.assertEqual(self.summary(name).get('ConsumerCount'), 5)

        self.client.deregister_stream_consumer(ConsumerARN=c['ConsumerARN'])
        self.wait_consumer_gone(ConsumerARN=c['ConsumerARN'])
        self.wait_consumer_gone(StreamARN=sarn, ConsumerName='c1')
        self.client.deregister_stream_consumer(StreamARN=sarn, ConsumerName='c2')
        self.wait_consumer_gone(StreamARN=sarn, ConsumerName='c2')
        left = [x['ConsumerName'] for x in self.client.list_stream_consumers(StreamARN=sarn)['Consumers']]
        self.assertEqual(sorted(left), ['c3', 'c4', 'c5'])

        self.expect_error('ResourceNotFoundException', self.client.describe_stream_consumer,
                          StreamARN=sarn, ConsumerName='never-registered')
        missing = h.stream_arn(h.unique_name('cp-nostream'))
        self.expect_error('ResourceNotFoundException', self.client.register_stream_consumer,
                          StreamARN=missing, ConsumerName='x')
        # a name can be registered again once the old consumer is gone
        again = self.client.register_stream_consumer(StreamARN=sarn, ConsumerName='c1')['Consumer']
        self.assertEqual(again['ConsumerName'], 'c1')

    def test_delete_stream_with_consumers(self):
        name = self.new_stream(1, 'cp-consdel')
        sarn = h.stream_arn(name)
        carn = self.client.register_stream_consumer(StreamARN=sarn, ConsumerName='keep')['Consumer']['ConsumerARN']
        self.wait_consumer_active(carn)
        self.expect_error('ResourceInUseException', self.client.delete_stream, StreamName=name)
        self.assertEqual(self.summary(name)['StreamStatus'], 'ACTIVE')
        self.assertEqual(self.describe_consumer(ConsumerARN=carn)['ConsumerStatus'], 'ACTIVE')
        self.client.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
        h.wait_deleted(self.client, name)
        self.wait_consumer_gone(ConsumerARN=carn)


# ---------------------------------------------------------------------------
# 10. Persistence (durable server, SIGTERM, restart on the same directory)
# ---------------------------------------------------------------------------

class TestPersistence(Base):

    @classmethod
    def setUpClass(cls):
        cls.data_dir = tempfile.mkdtemp(prefix='cinesis-cp-durable-')
        cls.server = h.CinesisServer(data_dir=cls.data_dir).start()
        cls.client = h.make_client(cls.server.endpoint, latest_model=True)

    @classmethod
    def tearDownClass(cls):
        try:
            h.stop_server_checked(cls.server)
        finally:
            shutil.rmtree(cls.data_dir, ignore_errors=True)

    def snapshot(self, name, sarn):
        shards = list_all_shards(self.client, name)
        summ = self.summary(name)
        cons = self.client.describe_stream_consumer(StreamARN=sarn, ConsumerName='durable')['ConsumerDescription']
        recs = {}
        for sid, rs in self.read_lineage(name).items():
            recs[sid] = [(r['SequenceNumber'], r['PartitionKey'], r['Data'], r['ApproximateArrivalTimestamp'])
                         for r in rs]
        return {
            'shards': shards,
            'tags': tag_dict(self.client.list_tags_for_stream(StreamName=name)['Tags']),
            'consumer': cons,
            'retention': summ['RetentionPeriodHours'],
            'status': summ['StreamStatus'],
            'open': summ['OpenShardCount'],
            'records': recs,
        }

    def test_control_plane_state_survives_restart(self):
        name = h.unique_name('cp-durable')
        sarn = h.stream_arn(name)
        self.client.create_stream(StreamName=name, ShardCount=1)
        self.wait_active(name)
        before = self.put_many(name, 'before', 12)
        self.client.split_shard(StreamName=name, ShardToSplit=h.shard_id(0), NewStartingHashKey=str(HALF))
        self.wait_active(name)
        after = self.put_many(name, 'after', 12)
        self.client.add_tags_to_stream(StreamName=name, Tags={'durable': 'yes', 'team': 'core'})
        self.client.register_stream_consumer(StreamARN=sarn, ConsumerName='durable')
        self.client.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=72)
        snap = self.snapshot(name, sarn)
        self.assertEqual(snap['retention'], 72)
        self.assertEqual(len(snap['shards']), 3)
        self.assertNothingLost(before + after, self.read_lineage(name))

        h.close_clients(self.server.endpoint)
        rc = self.server.stop()
        self.assertEqual(rc, 0, 'SIGTERM exit code\n%s' % self.server.stderr_text(limit=4000))
        self.server.cleanup_files()
        server = h.CinesisServer(data_dir=self.data_dir).start()
        type(self).server = server
        type(self).client = self.client = h.make_client(server.endpoint, latest_model=True)

        again = self.snapshot(name, sarn)
        self.assertEqual(again['shards'], snap['shards'])
        self.assertEqual(again['tags'], {'durable': 'yes', 'team': 'core'})
        self.assertEqual(again['retention'], 72)
        self.assertEqual(again['status'], 'ACTIVE')
        self.assertEqual(again['open'], 2)
        self.assertEqual(again['consumer'], snap['consumer'])
        self.assertEqual(again['consumer']['ConsumerStatus'], 'ACTIVE')
        self.assertEqual(again['records'], snap['records'])
        self.assertFalse(is_open({s['ShardId']: s for s in again['shards']}[h.shard_id(0)]))

        last_seq = {}
        for sid, rs in snap['records'].items():
            if rs:
                last_seq[sid] = max(int(r[0]) for r in rs)
        newer = self.put_many(name, 'restarted', 12)
        for pk, _, sid, seq in newer:
            self.assertIn(sid, (h.shard_id(1), h.shard_id(2)))
            if sid in last_seq:
                self.assertGreater(int(seq), last_seq[sid], 'sequence number after restart in %s' % sid)
        self.assertNothingLost(before + after + newer, self.read_lineage(name))


if __name__ == '__main__':
    unittest.main()
