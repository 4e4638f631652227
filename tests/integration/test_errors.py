"""Error probes: exact AWS error types and message texts, wire protocol, robustness.

Expected texts are those of kinesis-behaviour.md sections 1-2 (recorded from the real
service), never whatever the server happens to answer.

Run:  /usr/bin/python3 -m unittest -v tests/integration/test_errors.py   (from the repo root)
"""

import base64
import concurrent.futures
import datetime
import http.client
import json
import random
import re
import socket
import time
import unittest

from botocore.exceptions import ClientError

from . import harness as h

SERVER = None

ACCT = h.ACCOUNT_ID
SHARD_ENUM = '[AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]'
MISMATCH_PREFIX = ('Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber '
                   'or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. ')
ACCESS_DENIED_XML = (b'<AccessDeniedException>\n'
                     b'  <Message>Unable to determine service/operation name to be authorized</Message>\n'
                     b'</AccessDeniedException>\n')


def setUpModule():
    global SERVER
    SERVER = h.CinesisServer().start()
    ErrorsBase.server = SERVER
    ErrorsBase.client = h.make_client(SERVER.endpoint)


def tearDownModule():
    h.stop_server_checked(SERVER)


def not_found(name):
    return 'Stream %s under account %s not found.' % (name, ACCT)


def shard_missing(shard, name):
    return 'Shard %s in stream %s under account %s does not exist' % (shard, name, ACCT)


class ErrorsBase(h.ServerTestCase):
    client = None

    # -- boto3 -------------------------------------------------------------
    def assertClientError(self, fn, code, message=None, message_regex=None, **kwargs):
        with self.assertRaises(ClientError) as ctx:
            fn(**kwargs)
        got_code, got_msg = h.error_of(ctx.exception)
        self.assertEqual(got_code, code, 'error code (message: %r)' % (got_msg,))
        self.assertEqual(ctx.exception.response['ResponseMetadata']['HTTPStatusCode'], 400)
        if message is not None:
            self.assertEqual(got_msg, message)
        if message_regex is not None:
            self.assertRegex(got_msg, message_regex)
        return got_msg

    def new_stream(self, shards=1):
        return h.create_stream(self, self.client, shards, 'er')

    # -- raw ---------------------------------------------------------------
    def call(self, op, payload, **kw):
        return h.kinesis_call(self.server, op, payload, **kw)

    def assertJsonError(self, resp, type_, message=None, status=400, key='message'):
        self.assertEqual(resp.status, status, resp)
        ct = resp.header('Content-Type') or ''
        self.assertEqual(ct.split(';')[0].strip(), h.JSON_CT, resp)
        body = resp.json()
        self.assertEqual(body.get('__type'), type_, resp)
        if message is not None:
            self.assertEqual(body.get(key), message, resp)
        return body

    def assertExactJson(self, resp, expected, status=400):
        self.assertEqual(resp.status, status, resp)
        self.assertEqual(resp.json(), expected, resp)

    def assertValidation(self, resp, entries):
        """ValidationException with exactly these entries (order-insensitive)."""
        body = self.assertJsonError(resp, 'ValidationException')
        msg = body.get('message')
        n = len(entries)
        prefix = '%d validation error%s detected: ' % (n, '' if n == 1 else 's')
        self.assertTrue(isinstance(msg, str) and msg.startswith(prefix), '%r does not start with %r' % (msg, prefix))
        got = msg[len(prefix):].split('; ')
        self.assertEqual(sorted(got), sorted(entries), msg)

    def assertSerialization(self, resp, message):
        self.assertExactJson(resp, {'__type': 'SerializationException', 'Message': message})


def val(value, path, rule):
    shown = 'null' if value is None else "'%s'" % value
    return 'Value %s at \'%s\' failed to satisfy constraint: %s' % (shown, path, rule)


# ---------------------------------------------------------------------------
# Resource errors (boto3)
# ---------------------------------------------------------------------------

class TestResourceErrors(ErrorsBase):

    def test_unknown_stream_describe(self):
        name = h.unique_name('er-missing')
        self.assertClientError(self.client.describe_stream, 'ResourceNotFoundException', not_found(name),
                               StreamName=name)
        self.assertClientError(self.client.describe_stream_summary, 'ResourceNotFoundException', not_found(name),
                               StreamName=name)

    def test_unknown_stream_put_record_and_put_records(self):
        name = h.unique_name('er-missing')
        self.assertClientError(self.client.put_record, 'ResourceNotFoundException', not_found(name),
                               StreamName=name, Data=b'x', PartitionKey='a')
        self.assertClientError(self.client.put_records, 'ResourceNotFoundException', not_found(name),
                               StreamName=name, Records=[{'Data': b'x', 'PartitionKey': 'a'}])

    def test_unknown_stream_delete(self):
        name = h.unique_name('er-missing')
        self.assertClientError(self.client.delete_stream, 'ResourceNotFoundException', not_found(name),
                               StreamName=name)

    def test_unknown_stream_get_shard_iterator(self):
        name = h.unique_name('er-missing')
        self.assertClientError(self.client.get_shard_iterator, 'ResourceNotFoundException',
                               shard_missing('shardId-000000000000', name),
                               StreamName=name, ShardId='shardId-000000000000', ShardIteratorType='TRIM_HORIZON')

    def test_unknown_shard_on_existing_stream(self):
        name = self.new_stream(1)
        self.assertClientError(self.client.get_shard_iterator, 'ResourceNotFoundException',
                               shard_missing('shardId-000000000005', name),
                               StreamName=name, ShardId='shardId-000000000005', ShardIteratorType='LATEST')

    def test_unparsable_shard_id(self):
        name = h.unique_name('er-missing')
        self.assertClientError(self.client.get_shard_iterator, 'ResourceNotFoundException',
                               'Could not find shard ABKLFD8 in stream %s under account %s.' % (name, ACCT),
                               StreamName=name, ShardId='ABKLFD8', ShardIteratorType='LATEST')

    def test_shard_ids_are_parsed_leniently(self):
        name = self.new_stream(1)
        seq = self.client.put_record(StreamName=name, Data=b'lenient', PartitionKey='k')['SequenceNumber']
        for sid in ('shardId-000000000000', 'shardId-0', '0'):
            it = self.client.get_shard_iterator(StreamName=name, ShardId=sid,
                                                ShardIteratorType='TRIM_HORIZON')['ShardIterator']
            recs = self.client.get_records(ShardIterator=it)['Records']
            self.assertEqual([r['SequenceNumber'] for r in recs], [seq], sid)

    def test_create_existing_stream(self):
        name = self.new_stream(1)
        self.assertClientError(self.client.create_stream, 'ResourceInUseException',
                               'Stream %s under account %s already exists.' % (name, ACCT),
                               StreamName=name, ShardCount=2)

    def test_concurrent_create_same_name(self):
        name = h.unique_name('er-race')
        self.addCleanup(h._delete_quietly, self.client, name)
        clients = [h.make_client(self.server.endpoint) for _ in range(10)]

        def create(c):
            try:
                c.create_stream(StreamName=name, ShardCount=1)
                return 'ok'
            except ClientError as e:
                return h.error_of(e)

        with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
            outcomes = list(pool.map(create, clients))
        self.assertEqual(outcomes.count('ok'), 1, outcomes)
        for o in outcomes:
            if o != 'ok':
                self.assertEqual(o, ('ResourceInUseException',
                                     'Stream %s under account %s already exists.' % (name, ACCT)))
        h.wait_active(self.client, name)
        self.assertEqual(len(self.client.describe_stream(StreamName=name)['StreamDescription']['Shards']), 1)

    def test_get_records_after_stream_deleted(self):
        name = self.new_stream(2)
        it1 = self.client.get_shard_iterator(StreamName=name, ShardId='shardId-000000000001',
                                             ShardIteratorType='LATEST')['ShardIterator']
        self.client.delete_stream(StreamName=name)
        h.wait_deleted(self.client, name)
        self.assertClientError(self.client.get_records, 'ResourceNotFoundException',
                               shard_missing('shardId-000000000001', name), ShardIterator=it1)


# ---------------------------------------------------------------------------
# Iterator / sequence-number / hash-key arguments (boto3)
# ---------------------------------------------------------------------------

class TestArgumentErrors(ErrorsBase):

    def test_garbage_shard_iterators(self):
        name = self.new_stream(1)
        valid = self.client.get_shard_iterator(StreamName=name, ShardId='shardId-000000000000',
                                               ShardIteratorType='TRIM_HORIZON')['ShardIterator']
        self.client.get_records(ShardIterator=valid)  # the untouched one works
        rnd = random.Random(7)
        garbage = [
            'A',
            ' ',
            '=',
            'AAAA',
            'not-an-iterator',
            h.unique_name('iter'),
            base64.b64encode(bytes(rnd.getrandbits(8) for _ in range(152))).decode(),
            base64.b64encode(b'\x00' * 7 + b'\x01' + bytes(rnd.getrandbits(8) for _ in range(144))).decode(),
            'A' * 512,
            valid[:len(valid) // 2],
            valid + 'AAAA',
        ]

        def flip(s, i):
            c = s[i]
            repl = 'B' if c != 'B' else 'C'
            return s[:i] + repl + s[i + 1:]

        # flip one character at several positions of a genuine iterator
        for pos in sorted({8, len(valid) // 3, len(valid) // 2, (2 * len(valid)) // 3, len(valid) - 6}):
            if 0 <= pos < len(valid):
                garbage.append(flip(valid, pos))
        for g in garbage:
            if g == valid:
                continue
            with self.subTest(iterator=g[:60] + ('...' if len(g) > 60 else '')):
                self.assertClientError(self.client.get_records, 'InvalidArgumentException', 'Invalid ShardIterator.',
                                       ShardIterator=g)

    def test_iterator_type_and_sequence_mismatch(self):
        name = self.new_stream(1)
        seq = self.client.put_record(StreamName=name, Data=b'x', PartitionKey='k')['SequenceNumber']
        base = dict(StreamName=name, ShardId='shardId-000000000000')
        for itype in ('AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER'):
            self.assertClientError(self.client.get_shard_iterator, 'InvalidArgumentException',
                                   MISMATCH_PREFIX + 'Request specified %s and no StartingSequenceNumber.' % itype,
                                   ShardIteratorType=itype, **base)
        for itype in ('TRIM_HORIZON', 'LATEST'):
            self.assertClientError(self.client.get_shard_iterator, 'InvalidArgumentException',
                                   MISMATCH_PREFIX + 'Request specified %s and also a StartingSequenceNumber.' % itype,
                                   ShardIteratorType=itype, StartingSequenceNumber=seq, **base)

    def test_at_timestamp_without_timestamp(self):
        name = self.new_stream(1)
        self.assertClientError(self.client.get_shard_iterator, 'InvalidArgumentException',
                               'Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. '
                               'Current request has no timestamp parameter.',
                               StreamName=name, ShardId='shardId-000000000000', ShardIteratorType='AT_TIMESTAMP')

    def test_at_timestamp_in_future(self):
        name = self.new_stream(1)
        future = int(time.time()) + 7200
        msg = self.assertClientError(
            self.client.get_shard_iterator, 'InvalidArgumentException',
            message_regex=r'^The timestampInMillis parameter cannot be greater than the currentTimestampInMillis\. '
                          r'timestampInMillis: %d, currentTimestampInMillis: \d+$' % (future * 1000),
            StreamName=name, ShardId='shardId-000000000000', ShardIteratorType='AT_TIMESTAMP',
            Timestamp=datetime.datetime.fromtimestamp(future, datetime.timezone.utc))
        current = int(msg.rsplit(' ', 1)[1])
        self.assertLess(abs(current - time.time() * 1000), 10000)

    def test_sequence_number_from_another_shard(self):
        name = self.new_stream(3)
        r = self.client.put_record(StreamName=name, Data=b'x', PartitionKey='k',
                                   ExplicitHashKey='113427455640312821154458202477256070485')
        self.assertEqual(r['ShardId'], 'shardId-000000000001')
        for itype in ('AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER'):
            self.assertClientError(self.client.get_shard_iterator, 'InvalidArgumentException',
                                   'Invalid StartingSequenceNumber. It encodes shardId-000000000001, while it was '
                                   'used in a call to a shard with shardId-000000000000',
                                   StreamName=name, ShardId='shardId-000000000000', ShardIteratorType=itype,
                                   StartingSequenceNumber=r['SequenceNumber'])

    def test_explicit_hash_key_out_of_range(self):
        name = self.new_stream(1)
        for value in (str(2 ** 128), '9' * 39):
            self.assertClientError(self.client.put_record, 'InvalidArgumentException',
                                   'Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. '
                                   'Specified value was %s' % value,
                                   StreamName=name, Data=b'x', PartitionKey='k', ExplicitHashKey=value)
        # the largest legal value is accepted
        r = self.client.put_record(StreamName=name, Data=b'x', PartitionKey='k', ExplicitHashKey=str(2 ** 128 - 1))
        self.assertEqual(r['ShardId'], 'shardId-000000000000')

    def test_shard_limit_exceeded(self):
        name = h.unique_name('er-huge')
        self.addCleanup(h._delete_quietly, self.client, name)
        # open shards of the account right now
        names, start = [], None
        while True:
            kw = {'ExclusiveStartStreamName': start} if start else {}
            page = self.client.list_streams(**kw)
            names += page['StreamNames']
            if not page['HasMoreStreams'] or not page['StreamNames']:
                break
            start = page['StreamNames'][-1]
        current = sum(self.client.describe_stream_summary(StreamName=n)['StreamDescriptionSummary']['OpenShardCount']
                      for n in names)
        msg = self.assertClientError(
            self.client.create_stream, 'LimitExceededException',
            message_regex=r'^This request would exceed the shard limit for the account %s in %s\. Current shard '
                          r'count for the account: \d+\. Limit: 20000\. Number of additional shards that would have '
                          r'resulted from this request: 100000\. Refer to the AWS Service Limits page '
                          r'\(http://docs\.aws\.amazon\.com/general/latest/gr/aws_service_limits\.html\) for current '
                          r'limits and how to request higher limits\.$' % (ACCT, h.REGION),
            StreamName=name, ShardCount=100000)
        self.assertEqual(int(re.search(r'Current shard count for the account: (\d+)\.', msg).group(1)), current, msg)
        self.assertNotIn(name, self.client.list_streams(Limit=10000)['StreamNames'])

    def test_record_size_counts_partition_key(self):
        # data + partition key must not exceed 1 MiB (kinesis-behaviour.md section 8); the docs do not
        # give the error type for data <= 1 MiB whose sum with the key is larger, so only rejection is checked
        name = self.new_stream(1)
        data = b'\x03' * h.MAX_RECORD_BYTES
        with self.assertRaises(ClientError) as ctx:
            self.client.put_record(StreamName=name, Data=data, PartitionKey='k')
        self.assertEqual(ctx.exception.response['ResponseMetadata']['HTTPStatusCode'], 400)
        raw = self.call('PutRecords', {'StreamName': name, 'Records': [{'Data': h.b64(data), 'PartitionKey': 'k'}]})
        if raw.status == 200:
            self.assertEqual(raw.json().get('FailedRecordCount'), 1, 'oversized record accepted: %r' % raw)
        else:
            self.assertEqual(raw.status, 400, raw)
        self.assertEqual(h.read_shard(self.client, name, 'shardId-000000000000'), [])

    def test_invalid_sequence_number_for_ordering(self):
        name = self.new_stream(1)
        # a 56-digit number whose version nibble is 0 (not a sequence number AWS ever issued)
        seq = str(int('20000000000000000000000000000000000000000000000', 16))
        self.assertClientError(self.client.put_record, 'InvalidArgumentException',
                               'ExclusiveMinimumSequenceNumber %s used in PutRecord on stream %s under account %s '
                               'is invalid.' % (seq, name, ACCT),
                               StreamName=name, Data=b'x', PartitionKey='k', SequenceNumberForOrdering=seq)


# ---------------------------------------------------------------------------
# ValidationException (raw HTTP, so botocore's client-side checks stay out of it)
# ---------------------------------------------------------------------------

class TestValidation(ErrorsBase):

    def test_create_stream_empty_name_and_zero_shards(self):
        self.assertValidation(self.call('CreateStream', {'StreamName': '', 'ShardCount': 0}), [
            val('0', 'shardCount', 'Member must have value greater than or equal to 1'),
            val('', 'streamName', 'Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+'),
            val('', 'streamName', 'Member must have length greater than or equal to 1'),
        ])

    def test_create_stream_missing_name(self):
        resp = self.call('CreateStream', {'ShardCount': 1})
        self.assertJsonError(resp, 'ValidationException',
                             '1 validation error detected: ' + val(None, 'streamName', 'Member must not be null'))

    def test_create_stream_long_and_bad_names(self):
        long_name = 'a' * 129
        self.assertValidation(self.call('CreateStream', {'StreamName': long_name, 'ShardCount': 1}), [
            val(long_name, 'streamName', 'Member must have length less than or equal to 128')])
        self.assertValidation(self.call('CreateStream', {'StreamName': 'bad name!', 'ShardCount': 1}), [
            val('bad name!', 'streamName', 'Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+')])

    def test_get_records_missing_iterator(self):
        self.assertJsonError(self.call('GetRecords', {}), 'ValidationException',
                             '1 validation error detected: ' + val(None, 'shardIterator', 'Member must not be null'))

    def test_put_records_missing_records(self):
        name = self.new_stream(1)
        self.assertValidation(self.call('PutRecords', {'StreamName': name}),
                              [val(None, 'records', 'Member must not be null')])

    def test_bad_shard_iterator_type_enum(self):
        name = self.new_stream(1)
        resp = self.call('GetShardIterator', {'StreamName': name, 'ShardId': 'shardId-000000000000',
                                              'ShardIteratorType': 'BOGUS'})
        self.assertValidation(resp, [val('BOGUS', 'shardIteratorType', 'Member must satisfy enum value set: '
                                         + SHARD_ENUM)])

    def test_get_records_limit_bounds(self):
        self.assertValidation(self.call('GetRecords', {'ShardIterator': 'x', 'Limit': 0}), [
            val('0', 'limit', 'Member must have value greater than or equal to 1')])
        self.assertValidation(self.call('GetRecords', {'ShardIterator': 'x', 'Limit': 10001}), [
            val('10001', 'limit', 'Member must have value less than or equal to 10000')])
        self.assertValidation(self.call('GetRecords', {'ShardIterator': '', 'Limit': 0}), [
            val('0', 'limit', 'Member must have value greater than or equal to 1'),
            val('', 'shardIterator', 'Member must have length greater than or equal to 1')])
        long_it = 'a' * 513
        self.assertValidation(self.call('GetRecords', {'ShardIterator': long_it}), [
            val(long_it, 'shardIterator', 'Member must have length less than or equal to 512')])

    def test_other_limits(self):
        self.assertValidation(self.call('ListStreams', {'Limit': 0}), [
            val('0', 'limit', 'Member must have value greater than or equal to 1')])
        name = self.new_stream(1)
        self.assertValidation(self.call('DescribeStream', {'StreamName': name, 'Limit': 10001}), [
            val('10001', 'limit', 'Member must have value less than or equal to 10000')])

    def test_put_record_member_constraints(self):
        name = self.new_stream(1)
        self.assertValidation(self.call('PutRecord', {'StreamName': name, 'Data': '', 'PartitionKey': ''}), [
            val('', 'partitionKey', 'Member must have length greater than or equal to 1')])
        pk = 'p' * 257
        self.assertValidation(self.call('PutRecord', {'StreamName': name, 'Data': '', 'PartitionKey': pk}), [
            val(pk, 'partitionKey', 'Member must have length less than or equal to 256')])
        self.assertValidation(self.call('PutRecord', {'StreamName': name, 'Data': '', 'PartitionKey': 'a',
                                                      'ExplicitHashKey': 'abc'}), [
            val('abc', 'explicitHashKey', 'Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})')])
        self.assertValidation(self.call('PutRecord', {'StreamName': name, 'Data': '', 'PartitionKey': 'a',
                                                      'SequenceNumberForOrdering': 'x'}), [
            val('x', 'sequenceNumberForOrdering',
                'Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})')])

    def test_hash_key_and_sequence_number_patterns(self):
        name = self.new_stream(1)
        hk_rule = 'Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})'
        for ehk in ('007', '1' * 40, '-1', '1.0', ' 1'):
            with self.subTest(explicit_hash_key=ehk):
                self.assertValidation(self.call('PutRecord', {'StreamName': name, 'Data': '', 'PartitionKey': 'a',
                                                              'ExplicitHashKey': ehk}),
                                      [val(ehk, 'explicitHashKey', hk_rule)])
        seq = '1' * 130
        self.assertValidation(self.call('GetShardIterator', {
            'StreamName': name, 'ShardId': 'shardId-000000000000', 'ShardIteratorType': 'AT_SEQUENCE_NUMBER',
            'StartingSequenceNumber': seq}), [
            val(seq, 'startingSequenceNumber', 'Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})')])

    def test_shard_id_and_stream_arn_patterns(self):
        name = self.new_stream(1)
        self.assertValidation(self.call('GetShardIterator', {
            'StreamName': name, 'ShardId': 'shard id', 'ShardIteratorType': 'LATEST'}), [
            val('shard id', 'shardId', 'Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+')])
        self.assertValidation(self.call('DescribeStreamSummary', {'StreamARN': 'not-an-arn'}), [
            val('not-an-arn', 'streamARN',
                'Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+')])

    def test_put_record_data_too_large(self):
        name = self.new_stream(1)
        data = b'\x01' * (h.MAX_RECORD_BYTES + 1)
        resp = self.call('PutRecord', {'StreamName': name, 'Data': h.b64(data), 'PartitionKey': 'a'})
        self.assertJsonError(resp, 'ValidationException',
                             "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=1048577 "
                             "cap=1048577]' at 'data' failed to satisfy constraint: Member must have length less "
                             "than or equal to 1048576")

    def test_put_records_record_too_large(self):
        name = self.new_stream(1)
        records = [{'Data': h.b64(b'ok'), 'PartitionKey': 'a'},
                   {'Data': h.b64(b'ok'), 'PartitionKey': 'b'},
                   {'Data': h.b64(b'\x02' * (h.MAX_RECORD_BYTES + 1)), 'PartitionKey': 'c'}]
        resp = self.call('PutRecords', {'StreamName': name, 'Records': records})
        body = self.assertJsonError(resp, 'ValidationException')
        self.assertIn("at 'records.3.member.data' failed to satisfy constraint: "
                      "Member must have length less than or equal to 1048576", body['message'])
        self.assertEqual(body['message'],
                         "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=1048577 "
                         "cap=1048577]' at 'records.3.member.data' failed to satisfy constraint: Member must have "
                         "length less than or equal to 1048576")

    def test_put_records_too_many_records(self):
        name = self.new_stream(1)
        records = [{'Data': h.b64(b'x'), 'PartitionKey': 'k%d' % i} for i in range(501)]
        resp = self.call('PutRecords', {'StreamName': name, 'Records': records})
        body = self.assertJsonError(resp, 'ValidationException')
        msg = body['message']
        self.assertTrue(msg.startswith("1 validation error detected: Value '"), msg[:200])
        self.assertTrue(msg.endswith("' at 'records' failed to satisfy constraint: "
                                     "Member must have length less than or equal to 500"), msg[-200:])
        # nothing was written
        self.assertEqual(h.read_shard(self.client, name, 'shardId-000000000000'), [])

    def test_shard_count_upper_bound(self):
        self.assertValidation(self.call('CreateStream', {'StreamName': h.unique_name('er'), 'ShardCount': 100001}), [
            val('100001', 'shardCount', 'Member must have value less than or equal to 100000')])
        # the same service-side bound on UpdateShardCount, checked before the stream is looked up
        self.assertValidation(self.call('UpdateShardCount', {'StreamName': h.unique_name('er'),
                                                             'ScalingType': 'UNIFORM_SCALING',
                                                             'TargetShardCount': 100001}), [
            val('100001', 'targetShardCount', 'Member must have value less than or equal to 100000')])

    def test_partition_key_too_many_characters(self):
        name = self.new_stream(1)
        pk = u'\u20ac' * 257
        self.assertValidation(self.call('PutRecord', {'StreamName': name, 'Data': '', 'PartitionKey': pk}), [
            val(pk, 'partitionKey', 'Member must have length less than or equal to 256')])

    def test_put_records_null_entries_rejected(self):
        # a null list element can not become a record: the call must fail, not report success with no results
        name = self.new_stream(1)
        for body in ('{"StreamName": "%s", "Records": [null]}' % name,
                     '{"StreamName": "%s", "Records": [null, null]}' % name):
            with self.subTest(body=body):
                resp = self.call('PutRecords', body.encode())
                self.assertEqual(resp.status, 400, resp)
                self.assertIn(resp.json().get('__type'), ('ValidationException', 'SerializationException'), resp)

    def test_at_most_ten_validation_entries(self):
        name = self.new_stream(1)
        records = [{'Data': '', 'PartitionKey': ''} for _ in range(20)]
        body = self.assertJsonError(self.call('PutRecords', {'StreamName': name, 'Records': records}),
                                    'ValidationException')
        msg = body['message']
        self.assertTrue(msg.startswith('10 validation errors detected: '), msg[:100])
        entries = msg[len('10 validation errors detected: '):].split('; ')
        self.assertEqual(len(entries), 10, msg)
        for e in entries:
            self.assertRegex(e, r"^Value '' at 'records\.\d+\.member\.partitionKey' failed to satisfy constraint: "
                                r"Member must have length greater than or equal to 1$")

    def test_put_records_empty_list(self):
        name = self.new_stream(1)
        self.assertValidation(self.call('PutRecords', {'StreamName': name, 'Records': []}), [
            val('[]', 'records', 'Member must have length greater than or equal to 1')])

    def test_validation_precedes_resource_lookup(self):
        name = h.unique_name('er-missing')
        resp = self.call('GetShardIterator', {'StreamName': name, 'ShardId': 'shardId-000000000000',
                                              'ShardIteratorType': 'NOPE'})
        self.assertValidation(resp, [val('NOPE', 'shardIteratorType', 'Member must satisfy enum value set: '
                                         + SHARD_ENUM)])


# ---------------------------------------------------------------------------
# SerializationException (raw HTTP)
# ---------------------------------------------------------------------------

class TestSerialization(ErrorsBase):

    def test_integer_member_given_a_string(self):
        self.assertSerialization(self.call('CreateStream', {'StreamName': h.unique_name('er'), 'ShardCount': '1'}),
                                 'class java.lang.String can not be converted to an Integer')

    def test_integer_member_given_a_boolean(self):
        self.assertSerialization(self.call('GetRecords', {'ShardIterator': 'x', 'Limit': True}),
                                 'class java.lang.Boolean can not be converted to an Integer')

    def test_string_member_given_other_types(self):
        cases = [
            (True, 'class java.lang.Boolean can not be converted to an String'),
            (23, 'class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String'),
            (34.56, 'class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String'),
            ([], 'Start of list found where not expected'),
            ({}, 'Start of structure or map found where not expected.'),
        ]
        for value, msg in cases:
            with self.subTest(value=value):
                self.assertSerialization(self.call('DescribeStream', {'StreamName': value}), msg)

    def test_structure_where_scalar_expected(self):
        self.assertSerialization(self.call('CreateStream', {'StreamName': {}, 'ShardCount': 1}),
                                 'Start of structure or map found where not expected.')

    def test_list_member_given_scalars(self):
        for value in ('x', 23, True):
            with self.subTest(value=value):
                self.assertSerialization(self.call('PutRecords', {'StreamName': 's', 'Records': value}),
                                         'Expected list or null')

    def test_structure_member_given_scalar(self):
        self.assertSerialization(self.call('PutRecords', {'StreamName': 's', 'Records': ['x']}), 'Expected null')

    def test_blob_errors(self):
        cases = [
            ('23456', "'23456' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 "
                      "bytes but found: 5"),
            ('=+/=', "'=+/=' can not be converted to a Blob: Invalid Base64 character: '='"),
            ('+/+=', "'+/+=' can not be converted to a Blob: Invalid last non-pad Base64 character dectected"),
            (True, 'class java.lang.Boolean can not be converted to a Blob'),
            (23, 'class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to a Blob'),
        ]
        for value, msg in cases:
            with self.subTest(value=value):
                self.assertSerialization(self.call('PutRecord', {'StreamName': 's', 'PartitionKey': 'a',
                                                                 'Data': value}), msg)
        self.assertSerialization(self.call('PutRecords', {'StreamName': 's', 'Records': [
            {'PartitionKey': 'a', 'Data': '23456'}]}),
            "'23456' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but "
            "found: 5")

    def test_timestamp_given_a_string(self):
        self.assertSerialization(self.call('GetShardIterator', {
            'StreamName': 's', 'ShardId': 'shardId-000000000000', 'ShardIteratorType': 'AT_TIMESTAMP',
            'Timestamp': 'yesterday'}), 'class java.lang.String can not be converted to milliseconds since epoch')

    def test_boolean_member_given_other_types(self):
        name = h.unique_name('er-missing')
        cases = [('yes', "'YES' can not be converted to an Boolean"),
                 (1, 'class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an Boolean'),
                 ([], 'Start of list found where not expected'),
                 ({}, 'Start of structure or map found where not expected.')]
        for value, msg in cases:
            with self.subTest(value=value):
                self.assertSerialization(self.call('DeleteStream', {'StreamName': name,
                                                                    'EnforceConsumerDeletion': value}), msg)

    def test_structure_member_given_scalars(self):
        for value in ('x', 5, True):
            with self.subTest(value=value):
                self.assertSerialization(self.call('ListShards', {'StreamName': 's', 'ShardFilter': value}),
                                         'Expected null')
        self.assertSerialization(self.call('CreateStream', {'StreamName': 's', 'ShardCount': 1,
                                                            'StreamModeDetails': 'PROVISIONED'}), 'Expected null')
        self.assertSerialization(self.call('ListShards', {'StreamName': 's', 'ShardFilter': []}),
                                 'Start of list found where not expected')

    def test_timestamp_given_a_boolean(self):
        self.assertSerialization(self.call('GetShardIterator', {
            'StreamName': 's', 'ShardId': 'shardId-000000000000', 'ShardIteratorType': 'AT_TIMESTAMP',
            'Timestamp': True}), 'class java.lang.Boolean can not be converted to milliseconds since epoch')

    def test_integer_values_are_floored_and_clamped(self):
        name = self.new_stream(1)
        self.client.put_records(StreamName=name, Records=[{'Data': b'%d' % i, 'PartitionKey': 'k'} for i in range(5)])
        it = self.client.get_shard_iterator(StreamName=name, ShardId='shardId-000000000000',
                                            ShardIteratorType='TRIM_HORIZON')['ShardIterator']
        resp = self.call('GetRecords', b'{"ShardIterator": "%s", "Limit": 2.9}' % it.encode())
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(len(resp.json()['Records']), 2)
        # above 2147483647 the value is clamped before validation
        self.assertValidation(self.call('GetRecords', b'{"ShardIterator": "x", "Limit": 99999999999}'), [
            val('2147483647', 'limit', 'Member must have value less than or equal to 10000')])
        self.assertValidation(self.call('GetRecords', b'{"ShardIterator": "x", "Limit": 0.5}'), [
            val('0', 'limit', 'Member must have value greater than or equal to 1')])

    def test_type_check_precedes_validation(self):
        # ShardCount 0 would be a ValidationException, StreamName 123 a SerializationException: the latter wins
        self.assertSerialization(self.call('CreateStream', {'StreamName': 123, 'ShardCount': 0}),
                                 'class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted '
                                 'to an String')

    def test_unknown_members_ignored_and_null_is_absent(self):
        name = h.unique_name('er-extra')
        resp = self.call('CreateStream', {'StreamName': name, 'ShardCount': 1, 'NoSuchMember': [1, {'x': None}],
                                          'StreamModeDetails': None})
        self.assertEqual(resp.status, 200, resp)
        self.addCleanup(h._delete_quietly, self.client, name)
        h.wait_active(self.client, name)
        resp = self.call('DescribeStream', {'StreamName': name, 'Limit': None, 'ExclusiveStartShardId': None})
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(len(resp.json()['StreamDescription']['Shards']), 1)


# ---------------------------------------------------------------------------
# Wire protocol: methods, content types, targets, authentication, headers
# ---------------------------------------------------------------------------

class TestProtocol(ErrorsBase):

    def test_non_post_methods_denied(self):
        for method in ('GET', 'PUT'):
            with self.subTest(method=method):
                resp = h.raw_request(self.server, method, '/', h.kinesis_headers('ListStreams'), b'')
                self.assertEqual(resp.status, 403, resp)
                self.assertEqual(resp.body, ACCESS_DENIED_XML)

    def test_unusable_content_type_with_body(self):
        for ct in ('text/plain', 'application/x-amz-json-1.0', 'application/xml'):
            with self.subTest(content_type=ct):
                resp = self.call('ListStreams', b'{}', content_type=ct)
                self.assertEqual(resp.status, 404, resp)
                self.assertEqual(resp.body, b'<UnknownOperationException/>\n')
        # even an unknown operation of the right form gives the 404
        resp = self.call(None, b'{}', content_type='text/plain', target='Kinesis_20131202.NoSuchOp')
        self.assertEqual((resp.status, resp.body), (404, b'<UnknownOperationException/>\n'))
        # no usable target at all -> 403 AccessDenied
        for target in (None, 'garbage'):
            with self.subTest(target=target):
                resp = self.call(None, b'{}', content_type='text/plain', target=target)
                self.assertEqual(resp.status, 403, resp)
                self.assertEqual(resp.body, ACCESS_DENIED_XML)
        # no Content-Type at all: unusable too (valid target -> 404, no target -> 403)
        resp = self.call('ListStreams', b'{}', content_type=None)
        self.assertEqual((resp.status, resp.body), (404, b'<UnknownOperationException/>\n'))
        resp = self.call(None, b'{}', content_type=None, target=None)
        self.assertEqual((resp.status, resp.body), (403, ACCESS_DENIED_XML))

    def test_empty_body(self):
        self.assertExactJson(self.call('ListStreams', b''), {'__type': 'SerializationException'})
        self.assertExactJson(self.call(None, b'', target='Kinesis_20131202.NoSuchOp'),
                             {'__type': 'UnknownOperationException'})

    def test_non_json_bodies(self):
        for body in (b'hello', b'{"StreamName": ', b'123', b'"x"', b'true', b'{"a":1}}'):
            with self.subTest(body=body):
                self.assertExactJson(self.call('ListStreams', body), {'__type': 'SerializationException'})

    def test_unknown_operation(self):
        for target in ('Kinesis_20131202.NoSuchOp', 'Kinesis_20131202.ListStream', 'DynamoDB_20120810.ListTables',
                       'Kinesis_20131202.', 'listStreams'):
            with self.subTest(target=target):
                resp = self.call(None, b'{}', target=target)
                self.assertExactJson(resp, {'__type': 'UnknownOperationException'})
                self.assertEqual((resp.header('Content-Type') or '').split(';')[0], h.JSON_CT)
        self.assertExactJson(self.call(None, b'{}', target=None), {'__type': 'UnknownOperationException'})

    def test_missing_authentication(self):
        resp = self.call('ListStreams', {}, auth=False)
        self.assertExactJson(resp, {'__type': 'MissingAuthenticationTokenException',
                                    'message': 'Missing Authentication Token'})

    def test_incomplete_signature(self):
        headers = h.kinesis_headers('ListStreams', auth=False) + [('Authorization', 'X')]
        resp = h.raw_request(self.server, 'POST', '/', headers, b'{}')
        self.assertExactJson(resp, {'__type': 'IncompleteSignatureException', 'message':
                                    "Authorization header requires 'Credential' parameter. "
                                    "Authorization header requires 'Signature' parameter. "
                                    "Authorization header requires 'SignedHeaders' parameter. "
                                    "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
                                    "header. Authorization=X"})
        headers = h.kinesis_headers('ListStreams', auth=False) + [
            ('Authorization', 'AWS4- Signature=b Credential=a'), ('Date', 'a')]
        resp = h.raw_request(self.server, 'POST', '/', headers, b'{}')
        self.assertExactJson(resp, {'__type': 'IncompleteSignatureException', 'message':
                                    "Authorization header requires 'SignedHeaders' parameter. "
                                    "Authorization=AWS4- Signature=b Credential=a"})

    def test_both_header_and_query_authentication(self):
        resp = self.call('ListStreams', {}, path='/?X-Amz-Algorithm=AWS4-HMAC-SHA256')
        self.assertExactJson(resp, {'__type': 'InvalidSignatureException', 'message':
                                    "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as "
                                    "HTTP header."})

    def test_incomplete_query_authentication(self):
        resp = self.call('ListStreams', {}, auth=False,
                         path='/?X-Amz-Algorithm=a&X-Amz-Credential=b&X-Amz-Signature=c&X-Amz-Date=d')
        self.assertExactJson(resp, {'__type': 'IncompleteSignatureException', 'message':
                                    "AWS query-string parameters must include 'X-Amz-SignedHeaders'. "
                                    "Re-examine the query-string parameters."})

    def test_pipeline_order(self):
        # target is checked before authentication
        self.assertExactJson(self.call(None, b'{}', auth=False, target='Kinesis_20131202.Nope'),
                             {'__type': 'UnknownOperationException'})
        # body parsing is checked before authentication
        self.assertExactJson(self.call('ListStreams', b'nope', auth=False), {'__type': 'SerializationException'})
        # authentication is checked before member types
        self.assertExactJson(self.call('CreateStream', {'StreamName': True, 'ShardCount': 'x'}, auth=False),
                             {'__type': 'MissingAuthenticationTokenException',
                              'message': 'Missing Authentication Token'})

    def test_request_id_on_every_response(self):
        name = self.new_stream(1)
        responses = [
            self.call('ListStreams', {}),                                   # 200
            self.call('DescribeStream', {'StreamName': name}),              # 200
            self.call('DescribeStream', {'StreamName': name + 'x'}),        # 400 not found
            self.call('ListStreams', b'garbage'),                           # 400 serialization
            self.call('ListStreams', {}, auth=False),                       # 400 auth
            self.call(None, b'{}', target='Kinesis_20131202.Nope'),         # 400 unknown op
            self.call('ListStreams', b'{}', content_type='text/plain'),     # 404
            h.raw_request(self.server, 'GET', '/', h.kinesis_headers('ListStreams'), b''),   # 403
            h.raw_request(self.server, 'OPTIONS', '/', [('Origin', 'http://example.com')], b''),
        ]
        ids = []
        for resp in responses:
            rid = resp.header('x-amzn-RequestId')
            self.assertIsNotNone(rid, resp)
            self.assertRegex(rid, h.UUID_RE)
            ids.append(rid)
        self.assertEqual(len(set(ids)), len(ids), 'request ids must be unique')

    def test_cors_preflight(self):
        # no CORS by default (issue 17, docs/security.md): the preflight is an ordinary
        # non-POST request and no answer carries CORS headers
        resp = h.raw_request(self.server, 'OPTIONS', '/', [
            ('Origin', 'http://example.com'), ('Access-Control-Request-Method', 'POST')], b'')
        self.assertEqual((resp.status, resp.body), (403, ACCESS_DENIED_XML))
        self.assertIsNone(resp.header('Access-Control-Allow-Origin'))
        resp = self.call('ListStreams', {}, extra_headers=[('Origin', 'http://example.com')])
        self.assertIsNone(resp.header('Access-Control-Allow-Origin'))
        # with --cors-origin '*' the preflight is answered as AWS answers it
        server = h.CinesisServer('--cors-origin', '*').start()
        self.addCleanup(h.stop_server_checked, server)
        resp = h.raw_request(server, 'OPTIONS', '/', [
            ('Origin', 'http://example.com'), ('Access-Control-Request-Method', 'POST'),
            ('Access-Control-Request-Headers', 'content-type, x-amz-target')], b'')
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.header('Access-Control-Allow-Origin'), '*')
        self.assertEqual(resp.header('Access-Control-Allow-Methods'), 'POST')
        self.assertEqual(resp.header('Access-Control-Allow-Headers'), 'content-type, x-amz-target')
        self.assertEqual(resp.header('Access-Control-Max-Age'), '172800')
        self.assertEqual(resp.header('Content-Length'), '0')
        # as on AWS: a request id, but no x-amz-id-2 and no content type on a preflight answer
        self.assertRegex(resp.header('x-amzn-RequestId'), h.UUID_RE)
        self.assertIsNone(resp.header('x-amz-id-2'))
        self.assertIsNone(resp.header('Content-Type'))
        self.assertEqual(resp.body, b'')
        # an ordinary request with Origin also carries the CORS header
        resp = h.kinesis_call(server, 'ListStreams', {}, extra_headers=[('Origin', 'http://example.com')])
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.header('Access-Control-Allow-Origin'), '*')

    def test_operations_without_output_return_empty_body(self):
        name = h.unique_name('er-empty')
        resp = self.call('CreateStream', {'StreamName': name, 'ShardCount': 1})
        self.addCleanup(h._delete_quietly, self.client, name)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.body, b'')
        h.wait_active(self.client, name)
        resp = self.call('DeleteStream', {'StreamName': name})
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.body, b'')

    def test_chunked_request_body(self):
        body = json.dumps({'Limit': 5}).encode()
        chunked = b'%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n' % (3, body[:3], len(body) - 3, body[3:])
        headers = h.kinesis_headers('ListStreams') + [('Transfer-Encoding', 'chunked')]
        resp = h.raw_request(self.server, 'POST', '/', headers, chunked)
        self.assertEqual(resp.status, 200, resp)
        self.assertIsInstance(resp.json()['StreamNames'], list)

    def test_expect_100_continue(self):
        body = json.dumps({'Limit': 5}).encode()
        head = [b'POST / HTTP/1.1', b'Host: 127.0.0.1', b'Content-Length: %d' % len(body), b'Expect: 100-continue',
                b'Connection: close']
        head += [k.encode() + b': ' + v.encode() for k, v in h.kinesis_headers('ListStreams')]
        s = socket.create_connection((self.server.host, self.server.port), timeout=5)
        try:
            s.sendall(b'\r\n'.join(head) + b'\r\n\r\n')
            s.settimeout(1.0)
            early = b''
            try:
                early = s.recv(65536)
            except socket.timeout:
                pass    # a server may also just wait for the body
            if early:
                self.assertTrue(early.startswith(b'HTTP/1.1 100'), early[:200])
            s.settimeout(5)
            s.sendall(body)
            data = early
            while True:
                c = s.recv(65536)
                if not c:
                    break
                data += c
        finally:
            s.close()
        final = data.split(b'HTTP/1.1 ')[-1]
        self.assertTrue(final.startswith(b'200'), data[:300])
        self.assertIn(b'"StreamNames"', final)

    def test_keep_alive_many_requests_on_one_connection(self):
        conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=10)
        try:
            for i in range(20):
                headers = dict(h.kinesis_headers('ListStreams'))
                conn.request('POST', '/', body=b'{}', headers=headers)
                resp = conn.getresponse()
                body = resp.read()
                self.assertEqual(resp.status, 200, body)
            # an error does not poison the connection either
            conn.request('POST', '/', body=b'nope', headers=dict(h.kinesis_headers('ListStreams')))
            resp = conn.getresponse()
            self.assertEqual((resp.status, json.loads(resp.read())), (400, {'__type': 'SerializationException'}))
            conn.request('POST', '/', body=b'{}', headers=dict(h.kinesis_headers('ListStreams')))
            resp = conn.getresponse()
            resp.read()
            self.assertEqual(resp.status, 200)
        finally:
            conn.close()

    def test_success_response_format(self):
        resp = self.call('ListStreams', {}, content_type='application/x-amz-json-1.1; charset=utf-8', path='/any/path')
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual((resp.header('Content-Type') or '').split(';')[0].strip(), h.JSON_CT)
        body = resp.json()
        self.assertIsInstance(body['StreamNames'], list)
        self.assertIsInstance(body['HasMoreStreams'], bool)
        self.assertEqual(int(resp.header('Content-Length')), len(resp.body))


# ---------------------------------------------------------------------------
# Robustness
# ---------------------------------------------------------------------------

def _status_of(raw):
    m = re.match(rb'^HTTP/1\.[01] (\d{3})', raw)
    return int(m.group(1)) if m else None


def _exchange(host, port, payload, half_close=True, read_timeout=3.0):
    """Send raw bytes, optionally half-close, read until EOF/timeout. Returns (bytes, timed_out)."""
    s = socket.create_connection((host, port), timeout=5)
    try:
        s.settimeout(read_timeout)
        try:
            s.sendall(payload)
        except OSError:
            pass
        if half_close:
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        chunks = []
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                chunks.append(c)
                if sum(len(x) for x in chunks) > 1 << 20:
                    break
        except socket.timeout:
            return b''.join(chunks), True
        except OSError:
            pass
        return b''.join(chunks), False
    finally:
        s.close()


def _http(body, headers=None, target='Kinesis_20131202.ListStreams', content_length=None, method=b'POST'):
    if isinstance(body, str):
        body = body.encode('utf-8')
    hdrs = [(b'Host', b'127.0.0.1'), (b'Content-Type', h.JSON_CT.encode()), (b'X-Amz-Target', target.encode()),
            (b'X-Amz-Date', h.amz_date().encode()), (b'Authorization', h.dummy_auth_header().encode()),
            (b'Content-Length', str(len(body) if content_length is None else content_length).encode()),
            (b'Connection', b'close')]
    if headers:
        hdrs += headers
    return method + b' / HTTP/1.1\r\n' + b''.join(k + b': ' + v + b'\r\n' for k, v in hdrs) + b'\r\n' + body


class TestRobustness(ErrorsBase):
    """Runs on a server of its own, so that a crash here does not take the other classes down."""

    @classmethod
    def setUpClass(cls):
        cls.server = h.CinesisServer().start()
        cls.client = h.make_client(cls.server.endpoint)

    @classmethod
    def tearDownClass(cls):
        h.stop_server_checked(cls.server)

    def test_transfer_encoding_not_ending_in_chunked_is_400_and_closes(self):
        # Regression (RFC 9112 section 6.3): a Transfer-Encoding whose last coding is not
        # chunked was taken as an empty body, and the body ran as a second, hidden request.
        host, port = self.server.host, self.server.port
        shapes = [b'gzip', b'identity', b'chunked, identity', b'chunked, chunked', b'GZIP',
                  b'chunked\r\nContent-Length: 10', b'gzip, chunked']
        for i, te in enumerate(shapes):
            name = 'smuggled-%d-%d' % (i, random.randint(0, 1 << 30))
            hidden = _http(json.dumps({'StreamName': name, 'ShardCount': 1}),
                           target='Kinesis_20131202.CreateStream')
            payload = (b'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: ' + te +
                       b'\r\n\r\n' + hidden)
            raw, timed_out = _exchange(host, port, payload)
            self.assertFalse(timed_out, te)
            self.assertEqual(_status_of(raw), 400, (te, raw[:200]))
            self.assertEqual(len(re.findall(rb'HTTP/1\.1 \d{3}', raw)), 1, (te, raw[:400]))
            self.assertNotIn(name, self.client.list_streams()['StreamNames'], te)
        # A chunked body still works.
        body = b'{}'
        payload = (b'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ' + h.JSON_CT.encode() +
                   b'\r\nX-Amz-Target: Kinesis_20131202.ListStreams\r\nX-Amz-Date: ' +
                   h.amz_date().encode() + b'\r\nAuthorization: ' + h.dummy_auth_header().encode() +
                   b'\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n' +
                   b'%x\r\n' % len(body) + body + b'\r\n0\r\n\r\n')
        raw, _ = _exchange(host, port, payload)
        self.assertEqual(_status_of(raw), 200, raw[:300])
        # A coding before chunked is not implemented: not read as if absent (was 200).
        raw, _ = _exchange(host, port, payload.replace(b'Transfer-Encoding: chunked',
                                                       b'Transfer-Encoding: gzip, chunked'))
        self.assertEqual(_status_of(raw), 400, raw[:300])

    def _garbage_cases(self, stream):
        rnd = random.Random(1234)
        rb = lambda n: bytes(rnd.getrandbits(8) for _ in range(n))  # noqa: E731
        framed, unframed = [], []   # framed: complete HTTP requests; unframed: anything goes

        # 1. random bytes instead of HTTP (60)
        for i in range(60):
            unframed.append(rb(rnd.choice([1, 7, 64, 512, 4096])))
        # 2. well-framed requests with random binary bodies, various ops (60)
        ops = ['ListStreams', 'CreateStream', 'PutRecord', 'PutRecords', 'GetRecords', 'GetShardIterator',
               'DescribeStream', 'ListShards', 'DeleteStream', 'DescribeStreamSummary']
        for i in range(60):
            framed.append(_http(rb(rnd.choice([1, 16, 300, 5000])), target='Kinesis_20131202.' + ops[i % len(ops)]))
        # 3. truncated JSON (50)
        samples = [
            ('PutRecord', {'StreamName': stream, 'Data': h.b64(b'hello world'), 'PartitionKey': 'k'}),
            ('PutRecords', {'StreamName': stream, 'Records': [{'Data': h.b64(b'x' * 40), 'PartitionKey': 'k'}] * 5}),
            ('GetShardIterator', {'StreamName': stream, 'ShardId': 'shardId-000000000000',
                                  'ShardIteratorType': 'TRIM_HORIZON'}),
            ('ListShards', {'StreamName': stream, 'ShardFilter': {'Type': 'AT_LATEST'}}),
            ('CreateStream', {'StreamName': 'rob-' + stream, 'ShardCount': 1}),
        ]
        for i in range(50):
            op, payload = samples[i % len(samples)]
            full = json.dumps(payload)
            cut = rnd.randint(1, len(full) - 1)
            framed.append(_http(full[:cut], target='Kinesis_20131202.' + op))
        # 4. deep nesting (6)
        deep = 100000
        framed.append(_http('[' * deep + ']' * deep))
        framed.append(_http('{"a":' * deep + '1' + '}' * deep))
        framed.append(_http('{"StreamName":' + '[' * deep + ']' * deep + '}', target='Kinesis_20131202.DescribeStream'))
        framed.append(_http('{"Records":' + '[' * deep + ']' * deep + ',"StreamName":"x"}',
                            target='Kinesis_20131202.PutRecords'))
        framed.append(_http('[' * deep))  # unterminated
        framed.append(_http('{"StreamName":"x","ShardFilter":' + '{"Type":' * 5000 + '"AT_LATEST"' + '}' * 5000 + '}',
                            target='Kinesis_20131202.ListShards'))
        # 5. huge / odd numbers (16)
        for num in ('1e400', '-1e400', '99999999999999999999999999999999999999999', '-99999999999999999999999',
                    '2147483648', '-2147483649', '9223372036854775808', '1.5', '0.0000001', '1E+2', '-0', '1e-400',
                    '123456789' * 40, '0x10', 'NaN', 'Infinity'):
            framed.append(_http('{"Limit": %s}' % num, target='Kinesis_20131202.ListStreams'))
        # 6. invalid UTF-8 and odd strings (14)
        for bad in (b'\xff\xfe', b'\xc3\x28', b'\xe2\x82', b'\xf0\x28\x8c\xbc', b'\xc0\xaf', b'\xed\xa0\x80',
                    b'\\ud800', b'\\udfff\\ud800', b'\x00', b'\\u0000', b'\x7f\x80\x81', b'\xf8\x88\x80\x80\x80',
                    b'\\x41', b'\\'):
            framed.append(_http(b'{"StreamName":"' + bad + b'"}', target='Kinesis_20131202.DescribeStream'))
        # 7. header abuse (20)
        body = b'{}'
        framed.append(_http(body, headers=[(b'X-Long', b'a' * 16000)]))
        framed.append(_http(body, headers=[(b'X-H%d' % i, b'v') for i in range(200)]))
        framed.append(_http(body, headers=[(b'Content-Type', b'\xff\xfe')]))
        framed.append(_http(body, headers=[(b'X-Amz-Target', b'Kinesis_20131202.\xff')]))
        framed.append(_http(body, target='Kinesis_20131202.' + 'A' * 10000))
        framed.append(_http(body, headers=[(b'Authorization', b'AWS4-HMAC-SHA256 ' + b'Credential=' * 2000)]))
        unframed.append(b'POST / HTTP/1.1\r\nHost: x\r\nNoColonHeader\r\nContent-Length: 2\r\n\r\n{}')
        unframed.append(b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}')
        unframed.append(b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{}')
        unframed.append(b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n{}')
        unframed.append(b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}')
        unframed.append(b'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n')
        unframed.append(b'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n{}')
        unframed.append(b'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n')
        unframed.append(b'POST / HTTP/9.9\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}')
        unframed.append(b'BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n')
        unframed.append(b'POST ' + b'/a' * 20000 + b' HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}')
        unframed.append(b'\r\n' * 1000)
        unframed.append(b'GET / HTTP/1.1\r\n' + b'X: y\r\n' * 5000 + b'\r\n')
        unframed.append(b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}' * 50)  # pipelined
        # 8. Content-Length larger than the body, then the socket closes (40)
        for i in range(40):
            real = json.dumps({'StreamName': stream, 'Data': h.b64(rb(20)), 'PartitionKey': 'k'}).encode()
            unframed.append(_http(real[:rnd.randint(0, len(real))], target='Kinesis_20131202.PutRecord',
                                  content_length=len(real) + rnd.randint(1, 100000)))
        # 9. requests cut off in the middle of the headers (12)
        for cut in (1, 5, 16, 30, 45, 60, 90, 120, 150, 200, 260, 320):
            unframed.append(_http(b'{}')[:cut])
        # 10. odd but well-formed JSON (24)
        odd = [
            '{"StreamName": "%s", "StreamName": 5}' % stream,
            '{"StreamName": "%s"}' % ('a' * 1000000),
            '{"Limit": 1, "Limit": "x"}',
            '{"": "", "\\u0000": null}',
            '{"StreamName": null, "ShardCount": null}',
            '{"StreamName": "\\ud83d\\ude00"}',
            '{"StreamName": "%s", "ShardId": "shardId-99999999999999999999", "ShardIteratorType": "LATEST"}' % stream,
            '{"StreamName": "%s", "ShardId": "shardId--1", "ShardIteratorType": "LATEST"}' % stream,
            '{"StreamName": "%s", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_SEQUENCE_NUMBER", '
            '"StartingSequenceNumber": "%s"}' % (stream, '9' * 129),
            '{"StreamName": "%s", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP", '
            '"Timestamp": -1e300}' % stream,
            '{"StreamName": "%s", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP", '
            '"Timestamp": 1e300}' % stream,
            '{"StreamName": "%s", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP", '
            '"Timestamp": 0}' % stream,
            '{"ShardIterator": "%s", "Limit": 2147483648}' % ('A' * 512),
            '{"ShardIterator": "AAAAAAAAAAE=", "Limit": 10000}',
            '{"StreamName": "%s", "Data": "", "PartitionKey": "k", "ExplicitHashKey": "%s"}' % (stream, '9' * 39),
            '{"StreamName": "%s", "Data": "", "PartitionKey": "k", "SequenceNumberForOrdering": "%s"}'
            % (stream, '9' * 129),
            '{"StreamName": "%s", "Records": [%s]}' % (stream, ','.join(['{}'] * 500)),
            '{"StreamName": "%s", "Records": [null, null]}' % stream,
            '{"StreamName": "%s", "ShardFilter": {"Type": "AFTER_SHARD_ID"}}' % stream,
            '{"StreamName": "%s", "ShardFilter": {"Type": "AT_TIMESTAMP"}}' % stream,
            '{"NextToken": "garbage-token"}',
            '{"NextToken": "%s"}' % ('x' * 100000),
            '{"StreamName": "%s", "ExclusiveStartShardId": "shardId-999999999999", "Limit": 10000}' % stream,
            '{"ExclusiveStartStreamName": "%s", "Limit": 10000}' % ('z' * 128),
        ]
        odd_ops = ['DescribeStream', 'DescribeStream', 'ListStreams', 'ListStreams', 'CreateStream',
                   'DescribeStream', 'GetShardIterator', 'GetShardIterator', 'GetShardIterator', 'GetShardIterator',
                   'GetShardIterator', 'GetShardIterator', 'GetRecords', 'GetRecords', 'PutRecord', 'PutRecord',
                   'PutRecords', 'PutRecords', 'ListShards', 'ListShards', 'ListShards', 'ListShards',
                   'DescribeStream', 'ListStreams']
        for body, op in zip(odd, odd_ops):
            framed.append(_http(body, target='Kinesis_20131202.' + op))
        return framed, unframed

    def test_garbage_does_not_hurt_the_server(self):
        name = self.new_stream(1)
        framed, unframed = self._garbage_cases(name)
        self.assertGreaterEqual(len(framed) + len(unframed), 300)
        host, port = self.server.host, self.server.port

        # a slowloris connection: half a request, held open during the whole barrage
        slow = socket.create_connection((host, port), timeout=5)
        slow.sendall(_http(b'{}')[:60])

        bad = []

        def run(kind, payload):
            # complete requests (Connection: close) must be answered and closed by the server;
            # incomplete ones are half-closed by us so that the server sees EOF
            if kind == 'framed':
                raw, timed_out = _exchange(host, port, payload, half_close=False, read_timeout=5.0)
            else:
                raw, timed_out = _exchange(host, port, payload, half_close=True, read_timeout=2.0)
            return kind, payload, raw, timed_out

        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            futs = [pool.submit(run, 'framed', p) for p in framed] + [pool.submit(run, 'unframed', p) for p in unframed]
            for f in concurrent.futures.as_completed(futs):
                kind, payload, raw, timed_out = f.result()
                status = _status_of(raw)
                if status == 500 or (kind == 'framed' and status is not None and status >= 500):
                    bad.append('%s request %r... answered %r' % (kind, payload[:120], raw[:300]))
                if kind == 'framed' and timed_out:
                    bad.append('complete request %r... not answered within 5 s (got %r)' % (payload[:120], raw[:100]))

        # the server is alive and quick while the slowloris connection is still open
        self.assertTrue(self.server.is_alive(), 'server died during the garbage barrage')
        t0 = time.time()
        streams = self.client.list_streams()['StreamNames']
        self.assertIn(name, streams)
        self.assertLess(time.time() - t0, 2.0, 'normal request slow after garbage')
        r = self.client.put_record(StreamName=name, Data=b'still-ok', PartitionKey='k')
        recs = h.read_shard(self.client, name, 'shardId-000000000000')
        self.assertEqual(recs[-1]['SequenceNumber'], r['SequenceNumber'])
        slow.close()
        self.assertEqual(bad, [], 'server answered 5xx to (or hung on) garbage')

    def test_framed_garbage_gets_4xx_json(self):
        """Well-framed requests with bad JSON get a 400 SerializationException, not a dropped connection."""
        deep = 100000
        for body in (b'\x00\x01\x02', b'{"StreamName": "x"', b'[' * deep):
            with self.subTest(body=body[:20]):
                resp = self.call('ListStreams', body)
                self.assertExactJson(resp, {'__type': 'SerializationException'})
        # valid but absurdly deep JSON that is not an object
        resp = self.call('ListStreams', b'[' * deep + b']' * deep)
        self.assertJsonError(resp, 'SerializationException')
        resp = self.call('DescribeStream', b'{"StreamName":' + b'[' * deep + b']' * deep + b'}')
        self.assertJsonError(resp, 'SerializationException')

    def test_slowloris_does_not_block_other_clients(self):
        host, port = self.server.host, self.server.port
        conns = []
        try:
            for i in range(10):
                s = socket.create_connection((host, port), timeout=5)
                s.sendall(_http(b'{}')[:40 + i])
                conns.append(s)
            t0 = time.time()
            self.client.list_streams()
            self.assertLess(time.time() - t0, 2.0)
            # a request whose body never fully arrives does not block others either
            s = socket.create_connection((host, port), timeout=5)
            s.sendall(_http(b'{"Limit": 1}', content_length=1000))
            conns.append(s)
            t0 = time.time()
            self.client.list_streams()
            self.assertLess(time.time() - t0, 2.0)
        finally:
            for s in conns:
                s.close()
        self.assertTrue(self.server.is_alive())


# ---------------------------------------------------------------------------
# CREATING state: dedicated server with --create-stream-ms 1500
# ---------------------------------------------------------------------------

class TestCreatingState(ErrorsBase):

    @classmethod
    def setUpClass(cls):
        cls.server = h.CinesisServer(create_stream_ms=1500).start()
        cls.client = h.make_client(cls.server.endpoint)

    @classmethod
    def tearDownClass(cls):
        h.stop_server_checked(cls.server)

    def test_stream_while_creating(self):
        name = h.unique_name('er-creating')
        self.client.create_stream(StreamName=name, ShardCount=2)
        self.addCleanup(h._delete_quietly, self.client, name)
        t0 = time.time()
        desc = self.client.describe_stream(StreamName=name)['StreamDescription']
        self.assertEqual(desc['StreamStatus'], 'CREATING')
        self.assertEqual(desc['Shards'], [])
        self.assertIs(desc['HasMoreShards'], False)
        self.assertEqual(self.client.describe_stream_summary(StreamName=name)['StreamDescriptionSummary'][
            'StreamStatus'], 'CREATING')
        self.assertIn(name, self.client.list_streams()['StreamNames'])
        self.assertClientError(self.client.put_record, 'ResourceNotFoundException', not_found(name),
                               StreamName=name, Data=b'x', PartitionKey='k')
        self.assertClientError(self.client.put_records, 'ResourceNotFoundException', not_found(name),
                               StreamName=name, Records=[{'Data': b'x', 'PartitionKey': 'k'}])
        self.assertClientError(self.client.get_shard_iterator, 'ResourceNotFoundException',
                               shard_missing('shardId-000000000000', name),
                               StreamName=name, ShardId='shardId-000000000000', ShardIteratorType='LATEST')
        self.assertClientError(self.client.create_stream, 'ResourceInUseException',
                               'Stream %s under account %s already exists.' % (name, ACCT),
                               StreamName=name, ShardCount=2)
        self.assertLess(time.time() - t0, 1.2, 'probes too slow to observe CREATING reliably')

        self.client.get_waiter('stream_exists').wait(StreamName=name, WaiterConfig={'Delay': 1, 'MaxAttempts': 10})
        self.assertGreaterEqual(time.time() - t0, 1.0, 'stream became ACTIVE before --create-stream-ms elapsed')
        desc = self.client.describe_stream(StreamName=name)['StreamDescription']
        self.assertEqual((desc['StreamStatus'], len(desc['Shards'])), ('ACTIVE', 2))
        self.client.put_record(StreamName=name, Data=b'x', PartitionKey='k')


# ---------------------------------------------------------------------------
# Iterator expiry: dedicated server with --iterator-ttl-ms 1500
# ---------------------------------------------------------------------------

DATE_RE = r'[A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} UTC \d{4}'


class TestIteratorExpiry(h.ServerTestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = h.CinesisServer('--iterator-ttl-ms', '1500').start()
        cls.client = h.make_client(cls.server.endpoint)

    @classmethod
    def tearDownClass(cls):
        h.close_clients(cls.server.endpoint)
        if cls.server.is_alive():
            cls.server.stop()
        cls.server.cleanup_files()

    def test_expired_iterator(self):
        name = h.create_stream(self, self.client, 1, 'exp')
        seq = self.client.put_record(StreamName=name, Data=b'x', PartitionKey='k')['SequenceNumber']
        issued = time.time()
        it1 = self.client.get_shard_iterator(StreamName=name, ShardId='shardId-000000000000',
                                             ShardIteratorType='TRIM_HORIZON')['ShardIterator']
        time.sleep(max(0.0, issued + 1.0 - time.time()))
        # 1.0 s old: still valid; the NextShardIterator starts a fresh lifetime
        resp = self.client.get_records(ShardIterator=it1)
        self.assertEqual([r['SequenceNumber'] for r in resp['Records']], [seq])
        it2 = resp['NextShardIterator']
        time.sleep(max(0.0, issued + 2.1 - time.time()))

        with self.assertRaises(ClientError) as ctx:
            self.client.get_records(ShardIterator=it1)
        code, msg = h.error_of(ctx.exception)
        self.assertEqual(code, 'ExpiredIteratorException', msg)
        self.assertEqual(ctx.exception.response['ResponseMetadata']['HTTPStatusCode'], 400)
        self.assertTrue(msg.startswith('Iterator expired. The iterator was created at time '), msg)
        self.assertIn('which is further in the future than the tolerated delay of 1500 milliseconds.', msg)
        m = re.match(r'^Iterator expired\. The iterator was created at time (%s) while right now it is (%s) which is '
                     r'further in the future than the tolerated delay of 1500 milliseconds\.$' % (DATE_RE, DATE_RE), msg)
        self.assertIsNotNone(m, msg)
        fmt = '%a %b %d %H:%M:%S UTC %Y'
        created = datetime.datetime.strptime(m.group(1), fmt).replace(tzinfo=datetime.timezone.utc).timestamp()
        now = datetime.datetime.strptime(m.group(2), fmt).replace(tzinfo=datetime.timezone.utc).timestamp()
        self.assertLessEqual(abs(created - issued), 2.0)
        self.assertLessEqual(abs(now - time.time()), 2.0)
        self.assertGreaterEqual(now - created, 1.0)

        # it2 was issued ~1.1 s ago: still valid
        resp = self.client.get_records(ShardIterator=it2)
        self.assertEqual(resp['Records'], [])
        self.assertIn('NextShardIterator', resp)

    def test_z_sigterm_shuts_down_cleanly(self):
        # runs last in this class (alphabetical order)
        t0 = time.time()
        rc = self.server.stop(timeout=10)
        self.assertEqual(rc, 0, 'exit code after SIGTERM\n' + self.server.stderr_text(limit=3000))
        self.assertLess(time.time() - t0, 5.0)


if __name__ == '__main__':
    unittest.main()
