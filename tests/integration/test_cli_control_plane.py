"""A control-plane session through Debian's AWS CLI v2 (`/usr/bin/aws kinesis ...`).

Run:  /usr/bin/python3 -m unittest -v tests/integration/test_cli_control_plane.py   (from the repo root)

Only operations that the Debian CLI knows (`aws kinesis help`) are used.  Expectations come from
/work/shared/reference/kinesis-behaviour.md and kinesis-api.md (real AWS behaviour).
"""

import json
import os
import re
import time
import unittest

from . import harness as h

SERVER = None
CLI = None
SERVICE_ERROR_RC = 254   # AWS CLI v2: request made, the service returned an error
ACCT = h.ACCOUNT_ID
MAX = h.MAX_HASH_KEY
Q = 2 ** 126             # a quarter of the hash-key space


def setUpModule():
    global SERVER, CLI
    if not os.access(h.AWS_CLI, os.X_OK):
        raise unittest.SkipTest('%s not installed' % h.AWS_CLI)
    SERVER = h.CinesisServer().start()
    CLI = h.CliRunner(SERVER.endpoint)
    CliControlPlane.server = SERVER
    CliControlPlane.cli = CLI
    CliControlPlane.client = h.make_client(SERVER.endpoint)   # only for cleanup


def tearDownModule():
    try:
        h.stop_server_checked(SERVER)
    finally:
        if CLI is not None:
            CLI.cleanup()


def rng(shard):
    return int(shard['HashKeyRange']['StartingHashKey']), int(shard['HashKeyRange']['EndingHashKey'])


def is_open(shard):
    return 'EndingSequenceNumber' not in shard['SequenceNumberRange']


class CliControlPlane(h.ServerTestCase):
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
        """Run a command that must fail with this service error; message None = any message."""
        res = self.cli.run(*args)
        self.assertNotEqual(res.returncode, 0, 'expected failure, got: %s' % res.stdout)
        msg = r'.*' if message is None else re.escape(message)
        pattern = (r'(?m)^An error occurred \(%s\) when calling the %s operation(?: \(reached max retries: \d+\))?: %s$'
                   % (re.escape(code), re.escape(operation), msg))
        self.assertRegex(res.stderr, pattern)
        self.assertEqual(res.returncode, SERVICE_ERROR_RC, res.stderr)
        return res

    def wait_active(self, name, tries=50):
        for _ in range(tries):
            summ = self.aws('describe-stream-summary', '--stream-name', name)['StreamDescriptionSummary']
            if summ['StreamStatus'] == 'ACTIVE':
                return summ
            time.sleep(0.1)
        self.fail('stream %s never became ACTIVE' % name)

    def shards(self, name, *extra):
        return {s['ShardId']: s for s in self.aws('list-shards', '--stream-name', name, *extra)['Shards']}

    def test_control_plane_session(self):
        name = h.unique_name('cli-cp')
        arn = h.stream_arn(name)
        self.assertIsNone(self.aws('create-stream', '--stream-name', name, '--shard-count', 2))
        self.addCleanup(h._delete_quietly, self.client, name)
        self.wait_active(name)

        # split-shard: shard 0 = [0, 2^127-1] at 2^126 -> children 2 and 3; prints nothing
        self.assertIsNone(self.aws('split-shard', '--stream-name', name, '--shard-to-split', 'shardId-000000000000',
                                   '--new-starting-hash-key', str(Q)))
        self.wait_active(name)
        shards = self.shards(name)
        self.assertEqual(sorted(shards), [h.shard_id(i) for i in range(4)])
        self.assertFalse(is_open(shards[h.shard_id(0)]))
        for sid, want in ((h.shard_id(2), (0, Q - 1)), (h.shard_id(3), (Q, 2 * Q - 1))):
            self.assertEqual(rng(shards[sid]), want)
            self.assertEqual(shards[sid]['ParentShardId'], h.shard_id(0))
            self.assertNotIn('AdjacentParentShardId', shards[sid])
        # a key that is not strictly inside the shard
        self.aws_error('SplitShard', 'InvalidArgumentException',
                       'NewStartingHashKey %d used in SplitShard() on shard shardId-000000000001 in stream %s under '
                       "account %s is not both greater than one plus the shard's StartingHashKey %d and less than "
                       "the shard's EndingHashKey %d." % (2 * Q + 1, name, ACCT, 2 * Q, MAX),
                       'split-shard', '--stream-name', name, '--shard-to-split', 'shardId-000000000001',
                       '--new-starting-hash-key', str(2 * Q + 1))
        self.aws_error('SplitShard', 'ResourceNotFoundException',
                       'Could not find shard shardId-000000000009 in stream %s under account %s.' % (name, ACCT),
                       'split-shard', '--stream-name', name, '--shard-to-split', 'shardId-000000000009',
                       '--new-starting-hash-key', str(Q))

        # merge-shards: 2 + 3 -> 4 = [0, 2^127-1]
        self.assertIsNone(self.aws('merge-shards', '--stream-name', name, '--shard-to-merge', 'shardId-000000000002',
                                   '--adjacent-shard-to-merge', 'shardId-000000000003'))
        self.wait_active(name)
        shards = self.shards(name)
        s4 = shards[h.shard_id(4)]
        self.assertEqual(rng(s4), (0, 2 * Q - 1))
        self.assertEqual((s4['ParentShardId'], s4['AdjacentParentShardId']), (h.shard_id(2), h.shard_id(3)))
        self.assertEqual(sorted(sid for sid, s in shards.items() if is_open(s)), [h.shard_id(1), h.shard_id(4)])

        # update-shard-count 2 -> 4
        out = self.aws('update-shard-count', '--stream-name', name, '--target-shard-count', 4,
                       '--scaling-type', 'UNIFORM_SCALING')
        self.assertEqual((out['StreamName'], out['CurrentShardCount'], out['TargetShardCount']), (name, 2, 4))
        self.wait_active(name)
        latest = self.shards(name, '--shard-filter', 'Type=AT_LATEST')
        self.assertEqual(sorted(rng(s) for s in latest.values()), h.hash_ranges(4))
        self.assertTrue(all(is_open(s) for s in latest.values()))
        self.aws_error('UpdateShardCount', 'LimitExceededException',
                       'UpdateShardCount cannot scale up over double your current open shard count. '
                       'Current open shard count: 4, Target shard count: 9',
                       'update-shard-count', '--stream-name', name, '--target-shard-count', 9,
                       '--scaling-type', 'UNIFORM_SCALING')
        self.assertEqual(self.aws('describe-stream-summary', '--stream-name', name)
                         ['StreamDescriptionSummary']['OpenShardCount'], 4)

        # tags
        self.assertIsNone(self.aws('add-tags-to-stream', '--stream-name', name, '--tags', 'team=core,env=dev'))
        self.assertIsNone(self.aws('add-tags-to-stream', '--stream-name', name, '--tags', 'env=prod'))
        out = self.aws('list-tags-for-stream', '--stream-name', name)
        self.assertEqual({t['Key']: t['Value'] for t in out['Tags']}, {'team': 'core', 'env': 'prod'})
        self.assertIs(out['HasMoreTags'], False)
        out = self.aws('list-tags-for-stream', '--stream-name', name, '--limit', 1)
        self.assertEqual(len(out['Tags']), 1)
        self.assertIs(out['HasMoreTags'], True)
        self.aws_error('AddTagsToStream', 'InvalidArgumentException',
                       'Failed to add tags to stream %s under account %s because some tags contained illegal '
                       "characters. The allowed characters are Unicode letters, white-spaces, "
                       "'_',',','/','=','+','-','@'." % (name, ACCT),
                       'add-tags-to-stream', '--stream-name', name, '--tags', 'rate=5%')

        # retention
        self.assertIsNone(self.aws('increase-stream-retention-period', '--stream-name', name,
                                   '--retention-period-hours', 48))
        self.assertEqual(self.aws('describe-stream-summary', '--stream-name', name)
                         ['StreamDescriptionSummary']['RetentionPeriodHours'], 48)
        self.aws_error('DecreaseStreamRetentionPeriod', 'InvalidArgumentException',
                       'Requested retention period (72 hours) for stream %s can not be longer than existing '
                       'retention period (48 hours). Use IncreaseRetentionPeriod API.' % name,
                       'decrease-stream-retention-period', '--stream-name', name, '--retention-period-hours', 72)

        # consumers
        t0 = int(time.time())
        out = self.aws('register-stream-consumer', '--stream-arn', arn, '--consumer-name', 'cli-c1')
        c1 = out['Consumer']
        self.assertEqual(c1['ConsumerName'], 'cli-c1')
        self.assertIn(c1['ConsumerStatus'], ('CREATING', 'ACTIVE'))
        m = re.match(r'^%s/consumer/cli-c1:(\d+)$' % re.escape(arn), c1['ConsumerARN'])
        self.assertIsNotNone(m, c1['ConsumerARN'])
        self.assertLessEqual(abs(int(m.group(1)) - t0), 5)
        for n in ('cli-c2', 'cli-c3'):
            self.aws('register-stream-consumer', '--stream-arn', arn, '--consumer-name', n)
        self.aws_error('RegisterStreamConsumer', 'ResourceInUseException', None,
                       'register-stream-consumer', '--stream-arn', arn, '--consumer-name', 'cli-c1')
        # the CLI follows NextToken itself; --page-size 1 forces three requests
        out = self.aws('list-stream-consumers', '--stream-arn', arn, '--page-size', 1)
        self.assertEqual(sorted(c['ConsumerName'] for c in out['Consumers']), ['cli-c1', 'cli-c2', 'cli-c3'])
        out = self.aws('describe-stream-consumer', '--consumer-arn', c1['ConsumerARN'])
        self.assertEqual(out['ConsumerDescription']['StreamARN'], arn)

        # describe-limits: this server only holds this stream (4 open shards)
        out = self.aws('describe-limits')
        self.assertEqual(out['ShardLimit'], 20000)
        self.assertEqual(out['OpenShardCount'], 4)
        self.assertEqual(out['OnDemandStreamCount'], 0)

        # a stream with consumers is only deleted with --enforce-consumer-deletion
        self.aws_error('DeleteStream', 'ResourceInUseException', None, 'delete-stream', '--stream-name', name)
        self.assertIsNone(self.aws('delete-stream', '--stream-name', name, '--enforce-consumer-deletion'))
        h.wait_deleted(self.client, name)
        self.aws_error('DescribeStreamSummary', 'ResourceNotFoundException',
                       'Stream %s under account %s not found.' % (name, ACCT),
                       'describe-stream-summary', '--stream-name', name)
        self.assertEqual(self.aws('describe-limits')['OpenShardCount'], 0)


if __name__ == '__main__':
    unittest.main()
