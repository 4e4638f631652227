"""The C++ client and producer against peers: cinesis-server (durable) and kinesalite.

Runs examples/producer.cc (build target cinesis-example-producer): it writes N records
with the Producer over HTTP (SigV4, libcurl), reads every one back with KinesisClient
and fails on any loss or duplicate. kinesalite is a Kinesis implementation the client
did not grow up with; it is installed from npm into tests/peers by scripts/test.sh.
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from tests.integration import harness

REPO = harness.REPO_ROOT
EXAMPLE = os.environ.get('CINESIS_EXAMPLE_PRODUCER',
                         os.path.join(REPO, 'build', 'debug', 'examples', 'cinesis-example-producer'))
KINESALITE = os.path.join(REPO, 'tests', 'peers', 'node_modules', '.bin', 'kinesalite')
AGG_PACKAGE = os.path.join(REPO, 'tests', 'peers', 'node_modules', 'aws-kinesis-agg')
NODE = shutil.which('node')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_example(endpoint, records, *extra):
    p = subprocess.run([EXAMPLE, '--endpoint', endpoint, '--records', str(records)] + list(extra),
                       capture_output=True, text=True, timeout=600)
    print(p.stdout + p.stderr)
    return p


class ClientAgainstCinesis(unittest.TestCase):
    def test_producer_round_trip_durable(self):
        """1,000,000 records through the Producer into the durable server, which is restarted
        before they are read back: every record once, whole payload and partition key."""
        data = tempfile.mkdtemp(prefix='cinesis-peer-')
        self.addCleanup(shutil.rmtree, data, True)
        srv = harness.CinesisServer(data_dir=data)
        srv.start()
        self.addCleanup(srv.stop)
        n = int(os.environ.get('CINESIS_PEER_RECORDS', '1000000'))
        print('cinesis (durable): %d records, server restarted before reading back' % n)
        p = run_example(srv.endpoint, n, '--write-only')
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('produced %d records (0 failed)' % n, p.stdout)
        p = run_example(srv.endpoint, 20000, '--stream', 'aggregated', '--aggregate', '--write-only')
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(srv.stop(), 0, 'the durable server did not stop cleanly')
        srv = harness.CinesisServer(data_dir=data)
        srv.start()
        self.addCleanup(srv.stop)
        p = run_example(srv.endpoint, n, '--read-only')
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('read back %d records' % n, p.stdout)
        self.assertIn('0 missing, 0 duplicates, 0 with a wrong payload or partition key', p.stdout)
        p = run_example(srv.endpoint, 20000, '--stream', 'aggregated', '--aggregate', '--read-only')
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('0 missing, 0 duplicates, 0 with a wrong payload or partition key', p.stdout)


CONSUMER = os.environ.get('CINESIS_EXAMPLE_CONSUMER',
                          os.path.join(REPO, 'build', 'debug', 'examples', 'cinesis-example-consumer'))


class FanOutConsumer(unittest.TestCase):
    """The C++ consumer in enhanced fan-out mode: SubscribeToShard over libcurl's HTTP/2."""

    def test_consumer_reads_everything_pushed_over_http2(self):
        srv = harness.CinesisServer()
        srv.start()
        self.addCleanup(srv.stop)
        client = harness.make_client(srv.endpoint)
        client.create_stream(StreamName='efo', ShardCount=2)
        harness.wait_active(client, 'efo')
        for base in range(0, 4000, 500):
            client.put_records(StreamName='efo', Records=[{'Data': str(i).encode(), 'PartitionKey': 'k%d' % i}
                                                          for i in range(base, base + 500)])
        out = tempfile.mktemp(prefix='cinesis-efo-')
        self.addCleanup(lambda: os.path.exists(out) and os.remove(out))
        p = subprocess.run([CONSUMER, '--endpoint', srv.endpoint, '--stream', 'efo', '--app', 'efo', '--out', out,
                            '--efo', 'efo-consumer', '--exit-when-idle-ms', '2500'],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr[-2000:])
        values = [int(line.split(' ')[3]) for line in open(out).read().splitlines()]
        self.assertEqual(sorted(set(values)), list(range(4000)))
        consumers = client.list_stream_consumers(
            StreamARN=client.describe_stream_summary(StreamName='efo')['StreamDescriptionSummary']['StreamARN'])
        self.assertEqual([c['ConsumerName'] for c in consumers['Consumers']], ['efo-consumer'])


@unittest.skipUnless(NODE and os.path.isdir(AGG_PACKAGE), 'aws-kinesis-agg not installed (npm install --prefix tests/peers)')
class AggregationInterop(unittest.TestCase):
    """What our producer aggregates, AWS's aws-kinesis-agg deaggregates (checksums verified)."""

    def test_aws_kinesis_agg_deaggregates_our_records(self):
        srv = harness.CinesisServer()
        srv.start()
        self.addCleanup(srv.stop)
        n = 5000
        p = run_example(srv.endpoint, n, '--stream', 'agg', '--aggregate', '--record-bytes', '40')
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        client = harness.make_client(srv.endpoint)
        lines = []
        aggregated = 0
        for shard in client.list_shards(StreamName='agg')['Shards']:
            it = client.get_shard_iterator(StreamName='agg', ShardId=shard['ShardId'],
                                           ShardIteratorType='TRIM_HORIZON')['ShardIterator']
            while it:
                out = client.get_records(ShardIterator=it, Limit=10000)
                for r in out['Records']:
                    aggregated += r['Data'][:4] == bytes.fromhex('f3899ac2')
                    lines.append(json.dumps({'data': base64.b64encode(r['Data']).decode(),
                                             'partitionKey': r['PartitionKey'],
                                             'sequenceNumber': r['SequenceNumber']}))
                if not out['Records'] and out.get('MillisBehindLatest', 0) == 0:
                    break
                it = out.get('NextShardIterator')
        self.assertGreater(aggregated, 0, 'the producer sent no aggregated records')
        d = subprocess.run([NODE, os.path.join(REPO, 'tests', 'peers', 'deaggregate.js')], input='\n'.join(lines),
                           capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, NODE_PATH=os.path.join(REPO, 'tests', 'peers', 'node_modules')))
        self.assertEqual(d.returncode, 0, d.stderr)
        users = [json.loads(x) for x in d.stdout.splitlines() if x]
        indices = sorted(int(base64.b64decode(u['data'])[:16]) for u in users)
        self.assertEqual(indices, list(range(n)))
        for u in users:
            i = int(base64.b64decode(u['data'])[:16])
            self.assertEqual(u['partitionKey'], 'pk-%d' % (i % 1000))


@unittest.skipUnless(os.path.exists(KINESALITE), 'kinesalite not installed (npm install --prefix tests/peers)')
class ClientAgainstKinesalite(unittest.TestCase):
    def setUp(self):
        port = free_port()
        self.proc = subprocess.Popen([KINESALITE, '--port', str(port), '--createStreamMs', '0',
                                      '--deleteStreamMs', '0', '--updateStreamMs', '0', '--shardLimit', '100'],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(self.stop)
        self.endpoint = 'http://127.0.0.1:%d' % port
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(('127.0.0.1', port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        self.fail('kinesalite did not start')

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def test_producer_round_trip(self):
        # kinesalite (LevelDB in Node) writes ~10,000 records a second here: 100,000 keep
        # this test under a minute. The 1,000,000-record run is against cinesis (above).
        n = int(os.environ.get('CINESIS_KINESALITE_RECORDS', '100000'))
        print('kinesalite: %d records (what fits its speed; the 1,000,000-record run is '
              'ClientAgainstCinesis)' % n)
        p = run_example(self.endpoint, n)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('0 missing, 0 duplicates, 0 with a wrong payload or partition key', p.stdout)


if __name__ == '__main__':
    unittest.main()
