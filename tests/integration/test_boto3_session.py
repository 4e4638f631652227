"""A complete boto3 session against cinesis (expectations = real AWS behaviour).

Run:  /usr/bin/python3 -m unittest -v tests/integration/test_boto3_session.py   (from the repo root)
"""

import base64
import concurrent.futures
import datetime
import random
import re
import time
import unittest

from botocore.exceptions import ClientError

from . import harness as h

SERVER = None


def setUpModule():
    global SERVER
    SERVER = h.CinesisServer().start()
    SessionBase.server = SERVER
    SessionBase.client = h.make_client(SERVER.endpoint)


def tearDownModule():
    h.stop_server_checked(SERVER)


# Exact hash-key ranges for a 3-shard stream as recorded on AWS (kinesis-behaviour.md section 4).
THREE_SHARD_RANGES = [
    ('0', '113427455640312821154458202477256070484'),
    ('113427455640312821154458202477256070485', '226854911280625642308916404954512140969'),
    ('226854911280625642308916404954512140970', '340282366920938463463374607431768211455'),
]


class SessionBase(h.ServerTestCase):
    client = None

    def new_stream(self, shards=1, prefix='bs'):
        return h.create_stream(self, self.client, shards, prefix)

    def assertClientError(self, ctx, code, message=None, message_regex=None, message_prefix=None):
        got_code, got_msg = h.error_of(ctx.exception)
        self.assertEqual(got_code, code, 'error code (message was %r)' % (got_msg,))
        self.assertEqual(ctx.exception.response['ResponseMetadata']['HTTPStatusCode'], 400)
        if message is not None:
            self.assertEqual(got_msg, message)
        if message_regex is not None:
            self.assertRegex(got_msg, message_regex)
        if message_prefix is not None:
            self.assertTrue(got_msg is not None and got_msg.startswith(message_prefix),
                            '%r does not start with %r' % (got_msg, message_prefix))
        return got_msg

    def put(self, stream, data, pk='pk', **kw):
        return self.client.put_record(StreamName=stream, Data=data, PartitionKey=pk, **kw)

    def iterator(self, stream, shard='shardId-000000000000', itype='TRIM_HORIZON', **kw):
        return self.client.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType=itype,
                                              **kw)['ShardIterator']

    def assertSeq(self, seq):
        self.assertIsInstance(seq, str)
        self.assertRegex(seq, h.SEQ_RE)


# ---------------------------------------------------------------------------
# Stream creation and description
# ---------------------------------------------------------------------------

class TestCreateAndDescribe(SessionBase):

    def test_create_single_shard_stream_waiter_and_describe(self):
        name = h.unique_name('bs-one')
        t0 = time.time()
        resp = self.client.create_stream(StreamName=name, ShardCount=1)
        self.addCleanup(h._delete_quietly, self.client, name)
        self.assertEqual(resp['ResponseMetadata']['HTTPStatusCode'], 200)
        self.client.get_waiter('stream_exists').wait(StreamName=name, WaiterConfig={'Delay': 1, 'MaxAttempts': 10})

        desc = self.client.describe_stream(StreamName=name)['StreamDescription']
        self.assertEqual(desc['StreamName'], name)
        self.assertEqual(desc['StreamARN'], h.stream_arn(name))
        self.assertEqual(desc['StreamStatus'], 'ACTIVE')
        self.assertIs(desc['HasMoreShards'], False)
        self.assertEqual(desc['RetentionPeriodHours'], 24)
        self.assertEqual(desc['EncryptionType'], 'NONE')
        self.assertEqual(desc['EnhancedMonitoring'], [{'ShardLevelMetrics': []}])
        self.assertEqual(desc['StreamModeDetails'], {'StreamMode': 'PROVISIONED'})
        created = desc['StreamCreationTimestamp'].timestamp()
        self.assertTrue(t0 - 10 <= created <= time.time() + 2,
                        'StreamCreationTimestamp %r not around now (%r)' % (created, t0))

        self.assertEqual(len(desc['Shards']), 1)
        shard = desc['Shards'][0]
        self.assertEqual(shard['ShardId'], 'shardId-000000000000')
        self.assertEqual(shard['HashKeyRange'], {'StartingHashKey': '0',
                                                 'EndingHashKey': '340282366920938463463374607431768211455'})
        self.assertSeq(shard['SequenceNumberRange']['StartingSequenceNumber'])
        self.assertNotIn('EndingSequenceNumber', shard['SequenceNumberRange'])
        self.assertNotIn('ParentShardId', shard)
        self.assertNotIn('AdjacentParentShardId', shard)

    def test_three_shard_exact_hash_ranges(self):
        name = self.new_stream(3)
        desc = self.client.describe_stream(StreamName=name)['StreamDescription']
        self.assertEqual([s['ShardId'] for s in desc['Shards']],
                         ['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002'])
        got = [(s['HashKeyRange']['StartingHashKey'], s['HashKeyRange']['EndingHashKey']) for s in desc['Shards']]
        self.assertEqual(got, THREE_SHARD_RANGES)
        # the harness formula agrees with the recorded AWS numbers
        self.assertEqual([(str(a), str(b)) for a, b in h.hash_ranges(3)], THREE_SHARD_RANGES)
        for s in desc['Shards']:
            self.assertSeq(s['SequenceNumberRange']['StartingSequenceNumber'])
            self.assertNotIn('EndingSequenceNumber', s['SequenceNumberRange'])

    def test_longest_stream_name_with_all_allowed_characters(self):
        name = (h.unique_name('Bs_.-') + '-' + 'x' * 128)[:128]
        self.assertEqual(len(name), 128)
        self.client.create_stream(StreamName=name, ShardCount=1)
        self.addCleanup(h._delete_quietly, self.client, name)
        h.wait_active(self.client, name)
        self.assertEqual(self.client.describe_stream(StreamName=name)['StreamDescription']['StreamARN'],
                         h.stream_arn(name))
        self.assertEqual(self.put(name, b'x', 'k')['ShardId'], 'shardId-000000000000')

    def test_sequence_number_layout(self):
        # kinesis-behaviour.md section 5: the layout observed on AWS (47 hex digits: '2', shard creation
        # time, shard-index nibble, per-shard counter, '00', record time, shard index, version '2');
        # consecutive shards created together start exactly 2^144 + 16 apart.
        t0 = time.time()
        name = self.new_stream(3)
        shards = self.client.describe_stream(StreamName=name)['StreamDescription']['Shards']
        starts = [int(s['SequenceNumberRange']['StartingSequenceNumber']) for s in shards]
        self.assertEqual(starts[1] - starts[0], 2 ** 144 + 16)
        self.assertEqual(starts[2] - starts[1], 2 ** 144 + 16)
        for i, start in enumerate(starts):
            x = '%x' % start
            self.assertEqual(len(x), 47, x)
            self.assertEqual((x[0], x[-1], x[27:29]), ('2', '2', '00'), x)
            self.assertEqual(int(x[38:46], 16), i, x)
            self.assertEqual(int(x[11:27], 16), 0, 'starting counter of shard %d: %s' % (i, x))
            self.assertTrue(t0 - 15 <= int(x[1:10], 16) <= time.time() + 1, x)
        for i, ehk in enumerate(('0', '113427455640312821154458202477256070485', str(h.MAX_HASH_KEY))):
            put_at = time.time()
            seq = int(self.put(name, b'x', 'k', ExplicitHashKey=ehk)['SequenceNumber'])
            x = '%x' % seq
            self.assertEqual(len(x), 47, x)
            self.assertEqual((x[0], x[-1], x[10], x[27:29]), ('2', '2', '%x' % (i & 15), '00'), x)
            self.assertEqual(int(x[38:46], 16), i, x)
            self.assertEqual(x[1:10], ('%x' % starts[i])[1:10], 'shard creation time field')
            self.assertTrue(put_at - 2 <= int(x[29:38], 16) <= time.time() + 1, 'record time field %s' % x)
            self.assertGreater(seq, starts[i])

    def test_two_shard_boundary_is_2_pow_127(self):
        name = self.new_stream(2)
        shards = self.client.describe_stream(StreamName=name)['StreamDescription']['Shards']
        self.assertEqual([(s['HashKeyRange']['StartingHashKey'], s['HashKeyRange']['EndingHashKey']) for s in shards],
                         [('0', str(2 ** 127 - 1)), (str(2 ** 127), str(2 ** 128 - 1))])

    def test_describe_stream_limit_and_exclusive_start_shard_id(self):
        name = self.new_stream(3)
        page = self.client.describe_stream(StreamName=name, Limit=1)['StreamDescription']
        self.assertEqual([s['ShardId'] for s in page['Shards']], ['shardId-000000000000'])
        self.assertIs(page['HasMoreShards'], True)

        page = self.client.describe_stream(StreamName=name, Limit=1,
                                           ExclusiveStartShardId='shardId-000000000000')['StreamDescription']
        self.assertEqual([s['ShardId'] for s in page['Shards']], ['shardId-000000000001'])
        self.assertIs(page['HasMoreShards'], True)

        page = self.client.describe_stream(StreamName=name, Limit=1,
                                           ExclusiveStartShardId='shardId-000000000001')['StreamDescription']
        self.assertEqual([s['ShardId'] for s in page['Shards']], ['shardId-000000000002'])
        self.assertIs(page['HasMoreShards'], False)

        page = self.client.describe_stream(StreamName=name, Limit=2)['StreamDescription']
        self.assertEqual([s['ShardId'] for s in page['Shards']], ['shardId-000000000000', 'shardId-000000000001'])
        self.assertIs(page['HasMoreShards'], True)

        page = self.client.describe_stream(StreamName=name,
                                           ExclusiveStartShardId='shardId-000000000000')['StreamDescription']
        self.assertEqual([s['ShardId'] for s in page['Shards']], ['shardId-000000000001', 'shardId-000000000002'])
        self.assertIs(page['HasMoreShards'], False)

        page = self.client.describe_stream(StreamName=name, Limit=3)['StreamDescription']
        self.assertEqual(len(page['Shards']), 3)
        self.assertIs(page['HasMoreShards'], False)

        # the botocore paginator (ExclusiveStartShardId = last ShardId) walks all shards
        ids = []
        for p in self.client.get_paginator('describe_stream').paginate(StreamName=name,
                                                                        PaginationConfig={'PageSize': 1}):
            ids.extend(s['ShardId'] for s in p['StreamDescription']['Shards'])
        self.assertEqual(ids, ['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002'])

    def test_describe_stream_summary(self):
        name = self.new_stream(3)
        summ = self.client.describe_stream_summary(StreamName=name)['StreamDescriptionSummary']
        self.assertEqual(summ['StreamName'], name)
        self.assertEqual(summ['StreamARN'], h.stream_arn(name))
        self.assertEqual(summ['StreamStatus'], 'ACTIVE')
        self.assertEqual(summ['OpenShardCount'], 3)
        self.assertEqual(summ['RetentionPeriodHours'], 24)
        self.assertEqual(summ['EncryptionType'], 'NONE')
        self.assertEqual(summ['StreamModeDetails'], {'StreamMode': 'PROVISIONED'})
        self.assertEqual(summ['EnhancedMonitoring'], [{'ShardLevelMetrics': []}])
        self.assertEqual(summ.get('ConsumerCount'), 0)
        self.assertNotIn('Shards', summ)
        self.assertIsInstance(summ['StreamCreationTimestamp'], datetime.datetime)


# ---------------------------------------------------------------------------
# ListStreams
# ---------------------------------------------------------------------------

class TestListStreams(SessionBase):

    def _three_streams(self):
        prefix = h.unique_name('ls')
        names = []
        for suffix in ('a', 'b', 'c'):
            name = '%s-%s' % (prefix, suffix)
            self.client.create_stream(StreamName=name, ShardCount=1)
            self.addCleanup(h._delete_quietly, self.client, name)
            names.append(name)
        for name in names:
            h.wait_active(self.client, name)
        return names

    def test_list_streams_limit_and_exclusive_start_stream_name(self):
        names = self._three_streams()
        first = self.client.list_streams(Limit=1)
        self.assertEqual(len(first['StreamNames']), 1)
        self.assertIs(first['HasMoreStreams'], True)

        everything = self.client.list_streams()
        all_names = everything['StreamNames']
        self.assertIs(everything['HasMoreStreams'], False)
        self.assertEqual(all_names, sorted(all_names), 'ListStreams must list names in order')
        for n in names:
            self.assertIn(n, all_names)
        self.assertEqual(first['StreamNames'][0], all_names[0])

        # page one by one from just before our streams
        start = names[0]
        collected = [start]
        for expected in names[1:]:
            page = self.client.list_streams(Limit=1, ExclusiveStartStreamName=collected[-1])
            self.assertEqual(page['StreamNames'], [expected])
            collected.append(page['StreamNames'][0])
        self.assertEqual(collected, names)

        page = self.client.list_streams(ExclusiveStartStreamName=names[0])
        self.assertEqual(page['StreamNames'][:2], names[1:])
        self.assertNotIn(names[0], page['StreamNames'])
        # a start name that does not exist continues after it in name order
        page = self.client.list_streams(ExclusiveStartStreamName=names[0] + '0', Limit=1)
        self.assertEqual(page['StreamNames'], [names[1]])

        last = all_names[-1]
        page = self.client.list_streams(ExclusiveStartStreamName=last)
        self.assertEqual(page['StreamNames'], [])
        self.assertIs(page['HasMoreStreams'], False)

    def test_list_streams_next_token_and_summaries(self):
        if not h.client_supports(self.client, 'ListStreams', 'NextToken'):
            self.skipTest('botocore model without ListStreams NextToken')
        names = self._three_streams()
        all_names = self.client.list_streams()['StreamNames']

        seen = []
        resp = self.client.list_streams(Limit=1)
        for _ in range(len(all_names) + 2):
            self.assertLessEqual(len(resp['StreamNames']), 1)
            seen.extend(resp['StreamNames'])
            self.assertEqual([s['StreamName'] for s in resp.get('StreamSummaries', [])], resp['StreamNames'])
            if not resp['HasMoreStreams']:
                break
            self.assertIn('NextToken', resp, 'HasMoreStreams is true but no NextToken')
            resp = self.client.list_streams(Limit=1, NextToken=resp['NextToken'])
        else:
            self.fail('NextToken paging did not terminate')
        self.assertEqual(seen, all_names)

        resp = self.client.list_streams()
        self.assertIn('StreamSummaries', resp)
        by_name = {s['StreamName']: s for s in resp['StreamSummaries']}
        self.assertEqual([s['StreamName'] for s in resp['StreamSummaries']], resp['StreamNames'])
        for n in names:
            s = by_name[n]
            self.assertEqual(s['StreamARN'], h.stream_arn(n))
            self.assertEqual(s['StreamStatus'], 'ACTIVE')
            self.assertEqual(s['StreamModeDetails'], {'StreamMode': 'PROVISIONED'})
            self.assertIsInstance(s['StreamCreationTimestamp'], datetime.datetime)


class TestListingCaps(SessionBase):
    """Default page sizes: DescribeStream returns at most 100 shards, ListStreams at most 100 names.

    Runs on a server of its own so that its 100+ streams do not disturb other listings.
    """

    @classmethod
    def setUpClass(cls):
        cls.server = h.CinesisServer().start()
        cls.client = h.make_client(cls.server.endpoint)

    @classmethod
    def tearDownClass(cls):
        h.stop_server_checked(cls.server)

    def test_describe_stream_returns_at_most_100_shards(self):
        name = self.new_stream(120)
        for kw in ({}, {'Limit': 10000}, {'Limit': 101}):
            desc = self.client.describe_stream(StreamName=name, **kw)['StreamDescription']
            self.assertEqual(len(desc['Shards']), 100, kw)
            self.assertIs(desc['HasMoreShards'], True)
        desc = self.client.describe_stream(StreamName=name, ExclusiveStartShardId=h.shard_id(99))['StreamDescription']
        self.assertEqual([s['ShardId'] for s in desc['Shards']], [h.shard_id(i) for i in range(100, 120)])
        self.assertIs(desc['HasMoreShards'], False)
        # ListShards' default page is 1000
        resp = self.client.list_shards(StreamName=name)
        self.assertEqual(len(resp['Shards']), 120)
        self.assertNotIn('NextToken', resp)
        self.assertEqual(self.client.describe_stream_summary(StreamName=name)['StreamDescriptionSummary'][
            'OpenShardCount'], 120)

    def test_list_streams_returns_at_most_100_names(self):
        prefix = h.unique_name('cap')
        names = ['%s-%03d' % (prefix, i) for i in range(105)]
        for n in names:
            self.client.create_stream(StreamName=n, ShardCount=1)
            self.addCleanup(h._delete_quietly, self.client, n)
        resp = self.client.list_streams()
        self.assertEqual(len(resp['StreamNames']), 100)
        self.assertIs(resp['HasMoreStreams'], True)
        resp = self.client.list_streams(Limit=10000)
        self.assertLessEqual(len(resp['StreamNames']), 100)
        self.assertIs(resp['HasMoreStreams'], True)
        # ExclusiveStartStreamName continues where the first page stopped
        first = self.client.list_streams()['StreamNames']
        rest = self.client.list_streams(ExclusiveStartStreamName=first[-1])
        self.assertIs(rest['HasMoreStreams'], False)
        self.assertEqual(sorted(set(first + rest['StreamNames'])), first + rest['StreamNames'])
        for n in names:
            self.assertIn(n, first + rest['StreamNames'])


# ---------------------------------------------------------------------------
# ListShards
# ---------------------------------------------------------------------------

class TestListShards(SessionBase):

    ALL = ['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002']

    def ids(self, resp):
        return [s['ShardId'] for s in resp['Shards']]

    def test_list_shards_all(self):
        name = self.new_stream(3)
        resp = self.client.list_shards(StreamName=name)
        self.assertEqual(self.ids(resp), self.ALL)
        self.assertNotIn('NextToken', resp)
        got = [(s['HashKeyRange']['StartingHashKey'], s['HashKeyRange']['EndingHashKey']) for s in resp['Shards']]
        self.assertEqual(got, THREE_SHARD_RANGES)
        for s in resp['Shards']:
            self.assertSeq(s['SequenceNumberRange']['StartingSequenceNumber'])

    def test_list_shards_max_results_paging(self):
        name = self.new_stream(3)
        resp = self.client.list_shards(StreamName=name, MaxResults=1)
        self.assertEqual(self.ids(resp), ['shardId-000000000000'])
        self.assertIn('NextToken', resp)
        collected = self.ids(resp)
        for _ in range(5):
            if 'NextToken' not in resp:
                break
            resp = self.client.list_shards(NextToken=resp['NextToken'], MaxResults=1)
            self.assertLessEqual(len(resp['Shards']), 1)
            collected += self.ids(resp)
        else:
            self.fail('ListShards paging did not terminate')
        self.assertEqual(collected, self.ALL)

        resp = self.client.list_shards(StreamName=name, MaxResults=2)
        self.assertEqual(self.ids(resp), self.ALL[:2])
        resp2 = self.client.list_shards(NextToken=resp['NextToken'])
        self.assertEqual(self.ids(resp2), self.ALL[2:])

    def test_list_shards_exclusive_start_shard_id(self):
        name = self.new_stream(3)
        resp = self.client.list_shards(StreamName=name, ExclusiveStartShardId='shardId-000000000000')
        self.assertEqual(self.ids(resp), self.ALL[1:])
        resp = self.client.list_shards(StreamName=name, ExclusiveStartShardId='shardId-000000000002')
        self.assertEqual(self.ids(resp), [])

    def test_list_shards_next_token_with_stream_name_rejected(self):
        name = self.new_stream(3)
        token = self.client.list_shards(StreamName=name, MaxResults=1)['NextToken']
        with self.assertRaises(ClientError) as ctx:
            self.client.list_shards(StreamName=name, NextToken=token)
        self.assertClientError(ctx, 'InvalidArgumentException', 'NextToken and StreamName cannot be provided together.')

    def test_list_shards_without_stream_or_token_rejected(self):
        with self.assertRaises(ClientError) as ctx:
            self.client.list_shards()
        self.assertClientError(ctx, 'InvalidArgumentException', 'Either NextToken or StreamName should be provided.')

    def test_list_shards_shard_filters_without_resharding(self):
        name = self.new_stream(3)
        created = self.client.describe_stream_summary(StreamName=name)['StreamDescriptionSummary'][
            'StreamCreationTimestamp'].timestamp()
        # timestamps below are sent in whole seconds: make sure "now" is after the shards' start
        wait = created + 1.5 - time.time()
        if wait > 0:
            time.sleep(wait)
        now = h.now_utc()

        def ls(**flt):
            return self.ids(self.client.list_shards(StreamName=name, ShardFilter=flt))

        self.assertEqual(ls(Type='AFTER_SHARD_ID', ShardId='shardId-000000000000'), self.ALL[1:])
        self.assertEqual(ls(Type='AFTER_SHARD_ID', ShardId='shardId-000000000001'), self.ALL[2:])
        self.assertEqual(ls(Type='AT_TRIM_HORIZON'), self.ALL)
        self.assertEqual(ls(Type='FROM_TRIM_HORIZON'), self.ALL)
        self.assertEqual(ls(Type='AT_LATEST'), self.ALL)
        self.assertEqual(ls(Type='AT_TIMESTAMP', Timestamp=now), self.ALL)
        self.assertEqual(ls(Type='FROM_TIMESTAMP', Timestamp=now), self.ALL)

    def test_list_shards_unknown_stream(self):
        name = h.unique_name('bs-missing')
        with self.assertRaises(ClientError) as ctx:
            self.client.list_shards(StreamName=name)
        self.assertClientError(ctx, 'ResourceNotFoundException',
                               'Stream %s under account %s not found.' % (name, h.ACCOUNT_ID))


# ---------------------------------------------------------------------------
# PutRecord / PutRecords
# ---------------------------------------------------------------------------

class TestPut(SessionBase):

    def test_put_record_routes_by_md5_of_partition_key(self):
        name = self.new_stream(3)
        pks = ['pk-%d' % i for i in range(40)] + [u'\u043a\u043b\u044e\u0447-\u2603', 'a' * 256, '0', ' ']
        last_seq = {}
        hit = set()
        for pk in pks:
            resp = self.put(name, b'data-' + pk.encode('utf-8'), pk)
            expected = h.expected_shard_for_pk(pk, 3)
            self.assertEqual(resp['ShardId'], expected, 'partition key %r' % pk)
            self.assertSeq(resp['SequenceNumber'])
            hit.add(resp['ShardId'])
            prev = last_seq.get(resp['ShardId'])
            if prev is not None:
                self.assertGreater(int(resp['SequenceNumber']), int(prev),
                                   'sequence numbers must increase per shard')
            last_seq[resp['ShardId']] = resp['SequenceNumber']
        self.assertEqual(len(hit), 3, 'test data should hit all shards')

        shards = self.client.describe_stream(StreamName=name)['StreamDescription']['Shards']
        for s in shards:
            if s['ShardId'] in last_seq:
                self.assertGreater(int(last_seq[s['ShardId']]), int(s['SequenceNumberRange']['StartingSequenceNumber']))

    def test_unencrypted_writes_and_records_carry_no_encryption_type(self):
        # As AWS answers (LocalStack's and kinesalite's recordings): EncryptionType appears on
        # PutRecord(s) answers and on records only when the stream is KMS-encrypted.
        name = self.new_stream(1)
        resp = self.put(name, b'plain', 'k')
        self.assertNotIn('EncryptionType', resp)
        resp = self.client.put_records(StreamName=name, Records=[{'Data': b'x', 'PartitionKey': 'k'}])
        self.assertNotIn('EncryptionType', resp)
        self.assertEqual(resp['FailedRecordCount'], 0)
        recs = self.client.get_records(ShardIterator=self.iterator(name))['Records']
        self.assertEqual(len(recs), 2)
        for r in recs:
            self.assertEqual(sorted(r), ['ApproximateArrivalTimestamp', 'Data', 'PartitionKey', 'SequenceNumber'])

    def test_get_records_accepts_an_iterator_in_double_quotes(self):
        name = self.new_stream(1)
        self.put(name, b'Hello world', '1')
        recs = self.client.get_records(ShardIterator='"%s"' % self.iterator(name))['Records']
        self.assertEqual([r['Data'] for r in recs], [b'Hello world'])

    def test_create_stream_without_shard_count_or_mode(self):
        # AWS creates the stream with 4 evenly split shards (LocalStack's AWS-validated snapshot).
        name = h.unique_name('bs-noshards')
        self.client.create_stream(StreamName=name)
        self.addCleanup(h._delete_quietly, self.client, name)
        h.wait_active(self.client, name)
        shards = self.client.describe_stream(StreamName=name)['StreamDescription']['Shards']
        self.assertEqual([(s['HashKeyRange']['StartingHashKey'], s['HashKeyRange']['EndingHashKey'])
                          for s in shards], [(str(a), str(b)) for a, b in h.hash_ranges(4)])
        summary = self.client.describe_stream_summary(StreamName=name)['StreamDescriptionSummary']
        self.assertEqual(summary['StreamModeDetails'], {'StreamMode': 'ON_DEMAND'})

    def test_put_record_explicit_hash_key_routing(self):
        name = self.new_stream(3)
        cases = [
            ('0', 'shardId-000000000000'),
            ('113427455640312821154458202477256070484', 'shardId-000000000000'),
            ('113427455640312821154458202477256070485', 'shardId-000000000001'),
            ('226854911280625642308916404954512140969', 'shardId-000000000001'),
            ('226854911280625642308916404954512140970', 'shardId-000000000002'),
            ('340282366920938463463374607431768211455', 'shardId-000000000002'),
        ]
        for ehk, expected in cases:
            # the same partition key every time: only the explicit hash key decides
            resp = self.put(name, b'x', 'same-key', ExplicitHashKey=ehk)
            self.assertEqual(resp['ShardId'], expected, 'ExplicitHashKey %s' % ehk)
        recs = h.read_shard(self.client, name, 'shardId-000000000001')
        self.assertEqual(len(recs), 2)

    def test_sequence_number_for_ordering(self):
        name = self.new_stream(1)
        prev = self.put(name, b'first', 'ordered')['SequenceNumber']
        for i in range(5):
            resp = self.put(name, b'next-%d' % i, 'ordered', SequenceNumberForOrdering=prev)
            self.assertSeq(resp['SequenceNumber'])
            self.assertGreater(int(resp['SequenceNumber']), int(prev))
            prev = resp['SequenceNumber']
        recs = h.read_shard(self.client, name, 'shardId-000000000000')
        self.assertEqual([r['Data'] for r in recs], [b'first'] + [b'next-%d' % i for i in range(5)])

    def test_put_records_500(self):
        name = self.new_stream(3)
        entries = []
        for i in range(500):
            e = {'Data': b'rec-%03d-' % i + bytes([i % 256, 0, 255]), 'PartitionKey': 'pk-%d' % (i * 7919)}
            if i % 50 == 0:
                e['ExplicitHashKey'] = str(h.MAX_HASH_KEY)
            elif i % 50 == 25:
                e['ExplicitHashKey'] = '0'
            entries.append(e)
        resp = self.client.put_records(StreamName=name, Records=entries)
        self.assertEqual(resp['FailedRecordCount'], 0)
        self.assertEqual(len(resp['Records']), 500)
        seqs = set()
        expected_by_data = {}
        for i, (e, r) in enumerate(zip(entries, resp['Records'])):
            self.assertNotIn('ErrorCode', r, 'record %d' % i)
            self.assertEqual(r['ShardId'], h.expected_shard_for_pk(e['PartitionKey'], 3, e.get('ExplicitHashKey')),
                             'result %d is not for request entry %d' % (i, i))
            self.assertSeq(r['SequenceNumber'])
            seqs.add((r['ShardId'], r['SequenceNumber']))
            expected_by_data[e['Data']] = (r['ShardId'], r['SequenceNumber'], e['PartitionKey'])
        self.assertEqual(len(seqs), 500, 'sequence numbers must be unique')

        total = 0
        for sid in ('shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002'):
            recs = h.read_shard(self.client, name, sid)
            total += len(recs)
            nums = [int(r['SequenceNumber']) for r in recs]
            self.assertEqual(nums, sorted(set(nums)), 'records of %s not in strictly increasing order' % sid)
            for r in recs:
                self.assertIn(r['Data'], expected_by_data)
                self.assertEqual((sid, r['SequenceNumber'], r['PartitionKey']), expected_by_data[r['Data']])
        self.assertEqual(total, 500)

    def test_concurrent_producers(self):
        name = self.new_stream(2)
        threads, per_thread = 8, 60
        clients = [h.make_client(self.server.endpoint) for _ in range(threads)]
        results = {}

        def produce(t):
            out = []
            for i in range(per_thread):
                data = b't%d-%d' % (t, i)
                if i % 3 == 2:
                    r = clients[t].put_records(StreamName=name, Records=[{'Data': data, 'PartitionKey': 'p%d' % t}])
                    self.assertEqual(r['FailedRecordCount'], 0)
                    r = r['Records'][0]
                else:
                    r = clients[t].put_record(StreamName=name, Data=data, PartitionKey='p%d' % t)
                out.append((data, r['ShardId'], r['SequenceNumber']))
            results[t] = out

        with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
            for f in [pool.submit(produce, t) for t in range(threads)]:
                f.result()

        by_shard = {}
        for sid in ('shardId-000000000000', 'shardId-000000000001'):
            recs = h.read_shard(self.client, name, sid)
            nums = [int(r['SequenceNumber']) for r in recs]
            self.assertEqual(nums, sorted(set(nums)), 'per-shard order broken on %s' % sid)
            by_shard[sid] = [(r['Data'], sid, r['SequenceNumber']) for r in recs]
        self.assertEqual(sum(len(v) for v in by_shard.values()), threads * per_thread)
        for t, out in results.items():
            sid = h.expected_shard_for_pk('p%d' % t, 2)
            self.assertEqual({x[1] for x in out}, {sid})
            # one producer's sequential writes keep their order, and match what is read back
            mine = [x for x in by_shard[sid] if x[0].startswith(b't%d-' % t)]
            self.assertEqual(mine, out)

    def test_put_records_mixed_sizes_roundtrip(self):
        name = self.new_stream(1)
        payloads = [b'', b'\x00', b'\x00' * 100, bytes(range(256)), 'h\u00e9llo \u2603'.encode('utf-8')]
        resp = self.client.put_records(StreamName=name, Records=[{'Data': d, 'PartitionKey': 'k%d' % i}
                                                                 for i, d in enumerate(payloads)])
        self.assertEqual(resp['FailedRecordCount'], 0)
        recs = h.read_shard(self.client, name, 'shardId-000000000000')
        self.assertEqual([r['Data'] for r in recs], payloads)
        self.assertEqual([r['PartitionKey'] for r in recs], ['k%d' % i for i in range(len(payloads))])


# ---------------------------------------------------------------------------
# Iterators and GetRecords
# ---------------------------------------------------------------------------

class TestIteratorsAndGetRecords(SessionBase):

    def _put_n(self, name, n, prefix=b'r'):
        return [self.put(name, b'%s-%d' % (prefix, i), 'k')['SequenceNumber'] for i in range(n)]

    def test_trim_horizon_reads_all_in_order(self):
        name = self.new_stream(1)
        before = time.time()
        seqs = self._put_n(name, 10)
        after = time.time()
        recs = h.read_shard(self.client, name, 'shardId-000000000000')
        self.assertEqual([r['Data'] for r in recs], [b'r-%d' % i for i in range(10)])
        self.assertEqual([r['SequenceNumber'] for r in recs], seqs)
        self.assertEqual([r['PartitionKey'] for r in recs], ['k'] * 10)
        for r in recs:
            ts = r['ApproximateArrivalTimestamp'].timestamp()
            self.assertTrue(before - 2 <= ts <= after + 2, 'ApproximateArrivalTimestamp %r outside [%r, %r]'
                            % (ts, before, after))
        self.assertEqual([int(s) for s in seqs], sorted(int(s) for s in seqs))

    def test_latest_sees_only_later_records(self):
        name = self.new_stream(1)
        self._put_n(name, 3, b'old')
        it = self.iterator(name, itype='LATEST')
        resp = self.client.get_records(ShardIterator=it)
        self.assertEqual(resp['Records'], [])
        self.assertIn('NextShardIterator', resp)
        self.assertEqual(resp['MillisBehindLatest'], 0)
        new = self._put_n(name, 2, b'new')
        # the LATEST iterator is positioned at issue time: reusing it yields exactly the new records
        recs, _ = h.drain_shard(self.client, it)
        self.assertEqual([r['Data'] for r in recs], [b'new-0', b'new-1'])
        self.assertEqual([r['SequenceNumber'] for r in recs], new)
        # ... and so does the NextShardIterator of the empty read
        recs, _ = h.drain_shard(self.client, resp['NextShardIterator'])
        self.assertEqual([r['Data'] for r in recs], [b'new-0', b'new-1'])

    def test_at_and_after_sequence_number(self):
        name = self.new_stream(1)
        seqs = self._put_n(name, 5)
        at = self.iterator(name, itype='AT_SEQUENCE_NUMBER', StartingSequenceNumber=seqs[2])
        recs, _ = h.drain_shard(self.client, at)
        self.assertEqual([r['SequenceNumber'] for r in recs], seqs[2:])
        after = self.iterator(name, itype='AFTER_SEQUENCE_NUMBER', StartingSequenceNumber=seqs[2])
        recs, _ = h.drain_shard(self.client, after)
        self.assertEqual([r['SequenceNumber'] for r in recs], seqs[3:])
        # after the last record: nothing yet, but later records show up
        after_last = self.iterator(name, itype='AFTER_SEQUENCE_NUMBER', StartingSequenceNumber=seqs[-1])
        self.assertEqual(self.client.get_records(ShardIterator=after_last)['Records'], [])
        more = self._put_n(name, 1, b'more')
        recs, _ = h.drain_shard(self.client, after_last)
        self.assertEqual([r['SequenceNumber'] for r in recs], more)
        # AT the first record returns everything
        recs, _ = h.drain_shard(self.client, self.iterator(name, itype='AT_SEQUENCE_NUMBER',
                                                           StartingSequenceNumber=seqs[0]))
        self.assertEqual([r['SequenceNumber'] for r in recs], seqs + more)

    def test_at_timestamp_before_puts_returns_them(self):
        name = self.new_stream(1)
        ts = h.now_utc() - datetime.timedelta(seconds=30)
        seqs = self._put_n(name, 4)
        it = self.iterator(name, itype='AT_TIMESTAMP', Timestamp=ts)
        recs, _ = h.drain_shard(self.client, it)
        self.assertEqual([r['SequenceNumber'] for r in recs], seqs)

    def test_at_timestamp_between_puts_millisecond_precision(self):
        # boto3 1.26 sends whole seconds, so the fractional timestamp goes over raw HTTP
        name = self.new_stream(1)
        self._put_n(name, 2, b'early')
        time.sleep(0.3)
        cut = time.time()
        time.sleep(0.3)
        late = self._put_n(name, 2, b'late')
        resp = h.kinesis_call(self.server, 'GetShardIterator', {
            'StreamName': name, 'ShardId': 'shardId-000000000000', 'ShardIteratorType': 'AT_TIMESTAMP',
            'Timestamp': round(cut, 3)})
        self.assertEqual(resp.status, 200, resp)
        recs, _ = h.drain_shard(self.client, resp.json()['ShardIterator'])
        self.assertEqual([r['SequenceNumber'] for r in recs], late)

    def test_at_timestamp_in_future_rejected(self):
        name = self.new_stream(1)
        future = int(time.time()) + 3600
        with self.assertRaises(ClientError) as ctx:
            self.iterator(name, itype='AT_TIMESTAMP',
                          Timestamp=datetime.datetime.fromtimestamp(future, datetime.timezone.utc))
        msg = self.assertClientError(
            ctx, 'InvalidArgumentException',
            message_prefix='The timestampInMillis parameter cannot be greater than the currentTimestampInMillis.')
        m = re.match(r'^The timestampInMillis parameter cannot be greater than the currentTimestampInMillis\. '
                     r'timestampInMillis: (\d+), currentTimestampInMillis: (\d+)$', msg)
        self.assertIsNotNone(m, msg)
        self.assertEqual(int(m.group(1)), future * 1000)
        self.assertLess(abs(int(m.group(2)) - time.time() * 1000), 10000)

    def test_at_timestamp_equal_to_arrival_time_includes_record(self):
        name = self.new_stream(1)
        seqs = []
        for i in range(3):
            seqs.append(self.put(name, b'ts-%d' % i, 'k')['SequenceNumber'])
            time.sleep(0.05)
        raw = h.kinesis_call(self.server, 'GetRecords', {'ShardIterator': self.iterator(name)}).json()['Records']
        arrival = [r['ApproximateArrivalTimestamp'] for r in raw]
        self.assertEqual(arrival, sorted(arrival))
        resp = h.kinesis_call(self.server, 'GetShardIterator', {
            'StreamName': name, 'ShardId': 'shardId-000000000000', 'ShardIteratorType': 'AT_TIMESTAMP',
            'Timestamp': arrival[1]})
        self.assertEqual(resp.status, 200, resp)
        recs, _ = h.drain_shard(self.client, resp.json()['ShardIterator'])
        expected = [s for s, a in zip(seqs, arrival) if a >= arrival[1]]
        self.assertEqual([r['SequenceNumber'] for r in recs], expected)
        self.assertEqual(recs[0]['SequenceNumber'], seqs[1] if arrival[0] < arrival[1] else seqs[0])

    def test_at_shard_starting_sequence_number_reads_everything(self):
        name = self.new_stream(1)
        start = self.client.describe_stream(StreamName=name)['StreamDescription']['Shards'][0][
            'SequenceNumberRange']['StartingSequenceNumber']
        seqs = self._put_n(name, 3)
        for itype in ('AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER'):
            recs, _ = h.drain_shard(self.client, self.iterator(name, itype=itype, StartingSequenceNumber=start))
            self.assertEqual([r['SequenceNumber'] for r in recs], seqs, itype)

    def test_get_records_response_at_most_10_mib(self):
        name = self.new_stream(1)
        size = 1000000
        seqs = []
        for i in range(11):
            seqs.append(self.put(name, bytes([i]) * size, 'k')['SequenceNumber'])
        resp = self.client.get_records(ShardIterator=self.iterator(name))
        got = resp['Records']
        self.assertGreaterEqual(len(got), 1)
        self.assertLessEqual(sum(len(r['Data']) + len(r['PartitionKey']) for r in got), 10 * 1024 * 1024)
        self.assertLessEqual(len(got), 10)
        self.assertEqual([r['SequenceNumber'] for r in got], seqs[:len(got)])
        self.assertIn('NextShardIterator', resp)
        self.assertGreater(resp['MillisBehindLatest'], -1)

    def test_get_records_returns_at_most_10000_records(self):
        name = self.new_stream(1)
        total = 10050
        for start in range(0, total, 500):
            n = min(500, total - start)
            resp = self.client.put_records(StreamName=name, Records=[
                {'Data': b'%d' % (start + i), 'PartitionKey': 'k'} for i in range(n)])
            self.assertEqual(resp['FailedRecordCount'], 0)
        resp = self.client.get_records(ShardIterator=self.iterator(name))
        self.assertGreaterEqual(len(resp['Records']), 1)
        self.assertLessEqual(len(resp['Records']), 10000)
        got = [r['Data'] for r in resp['Records']]
        recs, _ = h.drain_shard(self.client, resp['NextShardIterator'])
        got += [r['Data'] for r in recs]
        self.assertEqual(len(got), total)
        self.assertEqual(sorted(got, key=int), got)

    def test_get_records_limit_paging(self):
        name = self.new_stream(1)
        seqs = self._put_n(name, 10)
        it = self.iterator(name)
        got, pages = [], 0
        for _ in range(30):
            resp = self.client.get_records(ShardIterator=it, Limit=3)
            self.assertLessEqual(len(resp['Records']), 3)
            self.assertIn('MillisBehindLatest', resp)
            self.assertIn('NextShardIterator', resp)
            got += [r['SequenceNumber'] for r in resp['Records']]
            pages += 1 if resp['Records'] else 0
            it = resp['NextShardIterator']
            if len(got) >= 10:
                break
        self.assertEqual(got, seqs)
        self.assertGreaterEqual(pages, 4)
        # caught up: an open shard still hands out a next iterator, with no records
        resp = self.client.get_records(ShardIterator=it, Limit=3)
        self.assertEqual(resp['Records'], [])
        self.assertIn('NextShardIterator', resp)
        self.assertEqual(resp['MillisBehindLatest'], 0)

    def test_millis_behind_latest(self):
        name = self.new_stream(1)
        self._put_n(name, 5)
        resp = self.client.get_records(ShardIterator=self.iterator(name))
        self.assertEqual(len(resp['Records']), 5)
        self.assertIsInstance(resp['MillisBehindLatest'], int)
        self.assertEqual(resp['MillisBehindLatest'], 0)
        resp = self.client.get_records(ShardIterator=self.iterator(name), Limit=1)
        self.assertIsInstance(resp['MillisBehindLatest'], int)
        self.assertGreaterEqual(resp['MillisBehindLatest'], 0)
        # empty stream
        empty = self.new_stream(1)
        resp = self.client.get_records(ShardIterator=self.iterator(empty))
        self.assertEqual(resp['Records'], [])
        self.assertEqual(resp['MillisBehindLatest'], 0)

    def test_iterator_can_be_reused(self):
        name = self.new_stream(1)
        seqs = self._put_n(name, 3)
        it = self.iterator(name)
        a = self.client.get_records(ShardIterator=it)
        b = self.client.get_records(ShardIterator=it)
        self.assertEqual([r['SequenceNumber'] for r in a['Records']], seqs)
        self.assertEqual([r['SequenceNumber'] for r in b['Records']], seqs)

    def test_iterators_are_opaque_strings_within_limits(self):
        name = self.new_stream(1)
        for itype in ('TRIM_HORIZON', 'LATEST'):
            it = self.iterator(name, itype=itype)
            self.assertIsInstance(it, str)
            self.assertTrue(1 <= len(it) <= 512, len(it))
        self._put_n(name, 1)
        nxt = self.client.get_records(ShardIterator=self.iterator(name))['NextShardIterator']
        self.assertTrue(1 <= len(nxt) <= 512, len(nxt))

    def test_binary_data_roundtrip(self):
        name = self.new_stream(1)
        rnd = random.Random(20131202)
        pk = 'big'
        payloads = [
            b'\x00',
            b'\x00\x00\x00',
            bytes(range(256)),
            b'\xff\xfe\x00\x80"\\/{}[]\n\r\t',
            bytes(rnd.getrandbits(8) for _ in range(70000)),
        ]
        seqs = [self.put(name, d, 'k')['SequenceNumber'] for d in payloads]
        # the largest allowed record: data + partition key == 1 MiB
        maximal = bytes(rnd.getrandbits(8) for _ in range(h.MAX_RECORD_BYTES - len(pk)))
        seqs.append(self.put(name, maximal, pk)['SequenceNumber'])
        payloads.append(maximal)
        recs = h.read_shard(self.client, name, 'shardId-000000000000', limit=2)
        self.assertEqual([r['SequenceNumber'] for r in recs], seqs)
        for i, (r, d) in enumerate(zip(recs, payloads)):
            self.assertEqual(len(r['Data']), len(d), 'payload %d length' % i)
            self.assertTrue(r['Data'] == d, 'payload %d differs' % i)

    def test_json_wire_types(self):
        # timestamps are JSON numbers (epoch seconds), blobs base64 strings
        name = self.new_stream(1)
        self.put(name, b'\x00wire', 'k')
        desc = h.kinesis_call(self.server, 'DescribeStream', {'StreamName': name}).json()['StreamDescription']
        self.assertIsInstance(desc['StreamCreationTimestamp'], (int, float))
        self.assertNotIsInstance(desc['StreamCreationTimestamp'], bool)
        it = self.iterator(name)
        resp = h.kinesis_call(self.server, 'GetRecords', {'ShardIterator': it})
        self.assertEqual(resp.status, 200, resp)
        rec = resp.json()['Records'][0]
        self.assertIsInstance(rec['ApproximateArrivalTimestamp'], (int, float))
        self.assertNotIsInstance(rec['ApproximateArrivalTimestamp'], bool)
        self.assertLess(abs(rec['ApproximateArrivalTimestamp'] - time.time()), 60)
        self.assertEqual(rec['Data'], base64.b64encode(b'\x00wire').decode())
        self.assertIsInstance(rec['SequenceNumber'], str)
        self.assertIsInstance(resp.json()['MillisBehindLatest'], int)

    def test_timestamp_in_exponent_notation_accepted(self):
        name = self.new_stream(1)
        seqs = self._put_n(name, 2)
        ts = '%.12E' % (time.time() - 120)   # e.g. 1.795759880123E+09
        body = ('{"StreamName": "%s", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP", '
                '"Timestamp": %s}' % (name, ts)).encode()
        resp = h.kinesis_call(self.server, 'GetShardIterator', body)
        self.assertEqual(resp.status, 200, resp)
        recs, _ = h.drain_shard(self.client, resp.json()['ShardIterator'])
        self.assertEqual([r['SequenceNumber'] for r in recs], seqs)

    def test_partition_key_length_counts_characters(self):
        name = self.new_stream(1)
        pk = u'\u20ac' * 256          # 256 characters, 768 UTF-8 bytes: allowed
        r = self.put(name, b'euro', pk)
        self.assertEqual(r['ShardId'], 'shardId-000000000000')
        recs = h.read_shard(self.client, name, 'shardId-000000000000')
        self.assertEqual([x['PartitionKey'] for x in recs], [pk])

    def test_empty_data_roundtrip(self):
        name = self.new_stream(1)
        seq = self.put(name, b'', 'k')['SequenceNumber']
        recs = h.read_shard(self.client, name, 'shardId-000000000000')
        self.assertEqual([(r['SequenceNumber'], r['Data']) for r in recs], [(seq, b'')])


# ---------------------------------------------------------------------------
# StreamARN instead of StreamName
# ---------------------------------------------------------------------------

class TestStreamArn(SessionBase):

    def setUp(self):
        if not h.client_supports(self.client, 'PutRecord', 'StreamARN'):
            self.skipTest('botocore model without StreamARN members')

    def test_operations_by_stream_arn(self):
        name = self.new_stream(2)
        arn = h.stream_arn(name)
        desc = self.client.describe_stream(StreamARN=arn)['StreamDescription']
        self.assertEqual(desc['StreamName'], name)
        self.assertEqual(desc['StreamARN'], arn)
        self.assertEqual(len(desc['Shards']), 2)
        summ = self.client.describe_stream_summary(StreamARN=arn)['StreamDescriptionSummary']
        self.assertEqual((summ['StreamName'], summ['OpenShardCount']), (name, 2))
        self.assertEqual([s['ShardId'] for s in self.client.list_shards(StreamARN=arn)['Shards']],
                         ['shardId-000000000000', 'shardId-000000000001'])

        r1 = self.client.put_record(StreamARN=arn, Data=b'by-arn', PartitionKey='p', ExplicitHashKey='0')
        self.assertEqual(r1['ShardId'], 'shardId-000000000000')
        r2 = self.client.put_records(StreamARN=arn, Records=[{'Data': b'by-arn-2', 'PartitionKey': 'p',
                                                              'ExplicitHashKey': '1'}])
        self.assertEqual(r2['FailedRecordCount'], 0)
        self.assertEqual(r2['Records'][0]['ShardId'], 'shardId-000000000000')

        it = self.client.get_shard_iterator(StreamARN=arn, ShardId='shardId-000000000000',
                                            ShardIteratorType='TRIM_HORIZON')['ShardIterator']
        resp = self.client.get_records(ShardIterator=it, StreamARN=arn)
        self.assertEqual([r['Data'] for r in resp['Records']], [b'by-arn', b'by-arn-2'])
        self.assertEqual(resp['Records'][0]['SequenceNumber'], r1['SequenceNumber'])

        self.client.delete_stream(StreamARN=arn)
        err = h.wait_deleted(self.client, name)
        self.assertEqual(h.error_of(err)[1], 'Stream %s under account %s not found.' % (name, h.ACCOUNT_ID))


# ---------------------------------------------------------------------------
# Deletion
# ---------------------------------------------------------------------------

class TestDelete(SessionBase):

    def test_delete_stream_then_not_found(self):
        name = self.new_stream(2)
        self.put(name, b'doomed', 'k')
        resp = self.client.delete_stream(StreamName=name)
        self.assertEqual(resp['ResponseMetadata']['HTTPStatusCode'], 200)
        err = h.wait_deleted(self.client, name)
        expected = 'Stream %s under account %s not found.' % (name, h.ACCOUNT_ID)
        self.assertEqual(h.error_of(err), ('ResourceNotFoundException', expected))

        with self.assertRaises(ClientError) as ctx:
            self.client.describe_stream_summary(StreamName=name)
        self.assertClientError(ctx, 'ResourceNotFoundException', expected)
        with self.assertRaises(ClientError) as ctx:
            self.put(name, b'x', 'k')
        self.assertClientError(ctx, 'ResourceNotFoundException', expected)
        with self.assertRaises(ClientError) as ctx:
            self.client.delete_stream(StreamName=name)
        self.assertClientError(ctx, 'ResourceNotFoundException', expected)
        self.assertNotIn(name, self.client.list_streams()['StreamNames'])

    def test_delete_then_recreate_same_name_is_empty(self):
        name = self.new_stream(1)
        self.put(name, b'old-incarnation', 'k')
        self.client.delete_stream(StreamName=name)
        h.wait_deleted(self.client, name)
        self.client.create_stream(StreamName=name, ShardCount=1)
        h.wait_active(self.client, name)
        self.assertEqual(h.read_shard(self.client, name, 'shardId-000000000000'), [])


if __name__ == '__main__':
    unittest.main()
