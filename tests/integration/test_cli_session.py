"""The core session through Debian's AWS CLI v2 (`/usr/bin/aws kinesis ...`).

Run:  /usr/bin/python3 -m unittest -v tests/integration/test_cli_session.py   (from the repo root)
"""

import base64
import json
import os
import re
import time
import unittest

from . import harness as h

SERVER = None
CLI = None
SERVICE_ERROR_RC = 254   # AWS CLI v2: request made, the service returned an error


def setUpModule():
    global SERVER, CLI
    if not os.access(h.AWS_CLI, os.X_OK):
        raise unittest.SkipTest('%s not installed' % h.AWS_CLI)
    SERVER = h.CinesisServer().start()
    CLI = h.CliRunner(SERVER.endpoint)
    CliBase.server = SERVER
    CliBase.cli = CLI
    CliBase.client = h.make_client(SERVER.endpoint)   # only for cleanup


def tearDownModule():
    try:
        h.stop_server_checked(SERVER)
    finally:
        if CLI is not None:
            CLI.cleanup()


class CliBase(h.ServerTestCase):
    cli = None
    client = None

    def aws(self, *args):
        """Run a command that must succeed; return parsed JSON stdout (None if empty)."""
        res = self.cli.run(*args)
        self.assertEqual(res.returncode, 0, 'aws kinesis %s failed (rc %d)\nstdout: %s\nstderr: %s'
                         % (' '.join(map(str, args)), res.returncode, res.stdout, res.stderr))
        out = res.stdout.strip()
        return json.loads(out) if out else None

    def aws_error(self, operation, code, message, *args):
        res = self.cli.run(*args)
        self.assertNotEqual(res.returncode, 0, 'expected failure, got: %s' % res.stdout)
        self.assertCliError(res, operation, code, message)
        return res

    def assertCliError(self, res, operation, code, message, prefix_only=False):
        """stderr has the CLI's service-error line for exactly this code and message."""
        pattern = (r'(?m)^An error occurred \(%s\) when calling the %s operation(?: \(reached max retries: \d+\))?: %s%s'
                   % (re.escape(code), re.escape(operation), re.escape(message), '' if prefix_only else '$'))
        self.assertRegex(res.stderr, pattern)
        self.assertEqual(res.returncode, SERVICE_ERROR_RC, res.stderr)

    def wait_active(self, name, tries=20):
        for _ in range(tries):
            summ = self.aws('describe-stream-summary', '--stream-name', name)['StreamDescriptionSummary']
            if summ['StreamStatus'] == 'ACTIVE':
                return summ
            time.sleep(0.2)
        self.fail('stream %s never became ACTIVE' % name)


class TestCliSession(CliBase):

    def test_core_session(self):
        name = h.unique_name('cli-core')
        other = name + '-zz'
        # create-stream prints nothing on success
        self.assertIsNone(self.aws('create-stream', '--stream-name', name, '--shard-count', 2))
        self.addCleanup(h._delete_quietly, self.client, name)
        self.assertIsNone(self.aws('create-stream', '--stream-name', other, '--shard-count', 1))
        self.addCleanup(h._delete_quietly, self.client, other)
        summ = self.wait_active(name)
        self.assertEqual(summ['OpenShardCount'], 2)
        self.assertEqual(summ['RetentionPeriodHours'], 24)
        self.assertEqual(summ['EncryptionType'], 'NONE')
        self.assertEqual(summ['StreamModeDetails'], {'StreamMode': 'PROVISIONED'})
        self.assertEqual(summ['StreamARN'], h.stream_arn(name))
        self.wait_active(other)

        # describe-stream (paginated by the CLI through ExclusiveStartShardId)
        desc = self.aws('describe-stream', '--stream-name', name)['StreamDescription']
        self.assertEqual(desc['StreamStatus'], 'ACTIVE')
        self.assertEqual(desc['StreamARN'], h.stream_arn(name))
        self.assertEqual([s['ShardId'] for s in desc['Shards']], ['shardId-000000000000', 'shardId-000000000001'])
        self.assertEqual([(s['HashKeyRange']['StartingHashKey'], s['HashKeyRange']['EndingHashKey'])
                          for s in desc['Shards']],
                         [('0', str(2 ** 127 - 1)), (str(2 ** 127), str(2 ** 128 - 1))])
        for s in desc['Shards']:
            self.assertRegex(s['SequenceNumberRange']['StartingSequenceNumber'], h.SEQ_RE)
        page = self.aws('describe-stream', '--stream-name', name, '--max-items', '1')['StreamDescription']
        self.assertEqual([s['ShardId'] for s in page['Shards']], ['shardId-000000000000'])

        # describe-stream-summary by ARN
        summ = self.aws('describe-stream-summary', '--stream-arn', h.stream_arn(name))['StreamDescriptionSummary']
        self.assertEqual(summ['StreamName'], name)

        # list-streams
        listed = self.aws('list-streams')
        self.assertIn(name, listed['StreamNames'])
        self.assertIn(other, listed['StreamNames'])
        one = self.aws('list-streams', '--no-paginate', '--limit', '1', '--exclusive-start-stream-name', name)
        self.assertEqual(one['StreamNames'], [other])

        # list-shards
        shards = self.aws('list-shards', '--stream-name', name)['Shards']
        self.assertEqual([s['ShardId'] for s in shards], ['shardId-000000000000', 'shardId-000000000001'])

        # put-record: CLI v2 takes --data as base64 ...
        payload = b'hello\x00world\xff'
        pk = 'cli-partition-key'
        r1 = self.aws('put-record', '--stream-name', name, '--partition-key', pk, '--data', h.b64(payload))
        self.assertEqual(r1['ShardId'], h.expected_shard_for_pk(pk, 2))
        self.assertRegex(r1['SequenceNumber'], h.SEQ_RE)
        # ... or raw text with --cli-binary-format raw-in-base64-out
        r2 = self.aws('put-record', '--stream-name', name, '--partition-key', pk, '--data', 'plain text',
                      '--cli-binary-format', 'raw-in-base64-out')
        self.assertEqual(r2['ShardId'], r1['ShardId'])
        self.assertGreater(int(r2['SequenceNumber']), int(r1['SequenceNumber']))
        # explicit hash key + sequence number for ordering
        r3 = self.aws('put-record', '--stream-name', name, '--partition-key', pk, '--data', h.b64(b'third'),
                      '--explicit-hash-key', str(2 ** 127), '--sequence-number-for-ordering', r2['SequenceNumber'])
        self.assertEqual(r3['ShardId'], 'shardId-000000000001')

        # put-records from a JSON file
        entries = [{'Data': h.b64(b'batch-%d' % i), 'PartitionKey': 'bk-%d' % i} for i in range(20)]
        path = self.cli.write_file('records-%s.json' % name, json.dumps(entries))
        pr = self.aws('put-records', '--stream-name', name, '--records', 'file://' + path)
        self.assertEqual(pr['FailedRecordCount'], 0)
        self.assertEqual(len(pr['Records']), 20)
        for e, r in zip(entries, pr['Records']):
            self.assertEqual(r['ShardId'], h.expected_shard_for_pk(e['PartitionKey'], 2))
            self.assertRegex(r['SequenceNumber'], h.SEQ_RE)

        # get-shard-iterator + get-records on both shards
        expected = {r1['SequenceNumber']: payload, r2['SequenceNumber']: b'plain text',
                    r3['SequenceNumber']: b'third'}
        for e, r in zip(entries, pr['Records']):
            expected[r['SequenceNumber']] = base64.b64decode(e['Data'])
        got = {}
        for sid in ('shardId-000000000000', 'shardId-000000000001'):
            it = self.aws('get-shard-iterator', '--stream-name', name, '--shard-id', sid,
                          '--shard-iterator-type', 'TRIM_HORIZON')['ShardIterator']
            resp = self.aws('get-records', '--shard-iterator', it)
            self.assertEqual(resp['MillisBehindLatest'], 0)
            self.assertIn('NextShardIterator', resp)
            seqs = [int(rec['SequenceNumber']) for rec in resp['Records']]
            self.assertEqual(seqs, sorted(seqs))
            for rec in resp['Records']:
                got[rec['SequenceNumber']] = base64.b64decode(rec['Data'])
        self.assertEqual(got, expected)

        # AT_SEQUENCE_NUMBER / AFTER_SEQUENCE_NUMBER with --limit
        it = self.aws('get-shard-iterator', '--stream-name', name, '--shard-id', r1['ShardId'],
                      '--shard-iterator-type', 'AT_SEQUENCE_NUMBER',
                      '--starting-sequence-number', r2['SequenceNumber'])['ShardIterator']
        resp = self.aws('get-records', '--shard-iterator', it, '--limit', '1')
        self.assertEqual([rec['SequenceNumber'] for rec in resp['Records']], [r2['SequenceNumber']])
        it = self.aws('get-shard-iterator', '--stream-name', name, '--shard-id', r1['ShardId'],
                      '--shard-iterator-type', 'AFTER_SEQUENCE_NUMBER',
                      '--starting-sequence-number', r1['SequenceNumber'])['ShardIterator']
        resp = self.aws('get-records', '--shard-iterator', it, '--limit', '1')
        self.assertEqual([rec['SequenceNumber'] for rec in resp['Records']], [r2['SequenceNumber']])

        # LATEST sees nothing old
        it = self.aws('get-shard-iterator', '--stream-name', name, '--shard-id', 'shardId-000000000000',
                      '--shard-iterator-type', 'LATEST')['ShardIterator']
        self.assertEqual(self.aws('get-records', '--shard-iterator', it)['Records'], [])

        # delete-stream, then the stream is gone
        self.assertIsNone(self.aws('delete-stream', '--stream-name', name))
        deadline = time.time() + 10
        while True:
            res = self.cli.run('describe-stream-summary', '--stream-name', name)
            if res.returncode != 0 or time.time() > deadline:
                break
            time.sleep(0.2)
        self.assertCliError(res, 'DescribeStreamSummary', 'ResourceNotFoundException',
                            'Stream %s under account %s not found.' % (name, h.ACCOUNT_ID))
        self.assertNotIn(name, self.aws('list-streams')['StreamNames'])


class TestCliErrors(CliBase):

    @classmethod
    def setUpClass(cls):
        cls.stream = h.unique_name('cli-err')
        res = cls.cli.run('create-stream', '--stream-name', cls.stream, '--shard-count', '1')
        if res.returncode != 0:
            raise AssertionError('create-stream failed: %s' % res.stderr)
        for _ in range(20):
            res = cls.cli.run('describe-stream-summary', '--stream-name', cls.stream)
            if res.returncode == 0 and json.loads(res.stdout)['StreamDescriptionSummary']['StreamStatus'] == 'ACTIVE':
                break
            time.sleep(0.2)

    @classmethod
    def tearDownClass(cls):
        h._delete_quietly(cls.client, cls.stream)

    def test_describe_unknown_stream(self):
        name = h.unique_name('cli-missing')
        self.aws_error('DescribeStream', 'ResourceNotFoundException',
                       'Stream %s under account %s not found.' % (name, h.ACCOUNT_ID),
                       'describe-stream', '--stream-name', name)

    def test_put_record_unknown_stream(self):
        name = h.unique_name('cli-missing')
        self.aws_error('PutRecord', 'ResourceNotFoundException',
                       'Stream %s under account %s not found.' % (name, h.ACCOUNT_ID),
                       'put-record', '--stream-name', name, '--partition-key', 'k', '--data', 'AAAA')

    def test_get_shard_iterator_unknown_stream(self):
        name = h.unique_name('cli-missing')
        self.aws_error('GetShardIterator', 'ResourceNotFoundException',
                       'Shard shardId-000000000000 in stream %s under account %s does not exist'
                       % (name, h.ACCOUNT_ID),
                       'get-shard-iterator', '--stream-name', name, '--shard-id', 'shardId-000000000000',
                       '--shard-iterator-type', 'LATEST')

    def test_create_existing_stream(self):
        self.aws_error('CreateStream', 'ResourceInUseException',
                       'Stream %s under account %s already exists.' % (self.stream, h.ACCOUNT_ID),
                       'create-stream', '--stream-name', self.stream, '--shard-count', '1')

    def test_invalid_shard_iterator(self):
        self.aws_error('GetRecords', 'InvalidArgumentException', 'Invalid ShardIterator.',
                       'get-records', '--shard-iterator', 'AAAAAAAAAAGarbageGarbageGarbage')

    def test_explicit_hash_key_out_of_range(self):
        self.aws_error('PutRecord', 'InvalidArgumentException',
                       'Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. '
                       'Specified value was %d' % 2 ** 128,
                       'put-record', '--stream-name', self.stream, '--partition-key', 'k', '--data', 'AAAA',
                       '--explicit-hash-key', str(2 ** 128))

    def test_iterator_type_mismatch(self):
        self.aws_error('GetShardIterator', 'InvalidArgumentException',
                       'Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber '
                       'or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified '
                       'AT_SEQUENCE_NUMBER and no StartingSequenceNumber.',
                       'get-shard-iterator', '--stream-name', self.stream, '--shard-id', 'shardId-000000000000',
                       '--shard-iterator-type', 'AT_SEQUENCE_NUMBER')

    def test_at_timestamp_in_future(self):
        future = int(time.time()) + 3600
        res = self.cli.run('get-shard-iterator', '--stream-name', self.stream, '--shard-id', 'shardId-000000000000',
                           '--shard-iterator-type', 'AT_TIMESTAMP', '--timestamp', str(future))
        self.assertCliError(res, 'GetShardIterator', 'InvalidArgumentException',
                            'The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. '
                            'timestampInMillis: %d, currentTimestampInMillis: ' % (future * 1000), prefix_only=True)

    def test_list_shards_without_stream(self):
        self.aws_error('ListShards', 'InvalidArgumentException', 'Either NextToken or StreamName should be provided.',
                       'list-shards')

    def test_validation_error_reaches_cli(self):
        # botocore checks only minimums client-side, so Limit 10001 reaches the server
        self.aws_error('GetRecords', 'ValidationException',
                       "1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: "
                       'Member must have value less than or equal to 10000',
                       'get-records', '--shard-iterator', 'AAAA', '--limit', '10001')


if __name__ == '__main__':
    unittest.main()
