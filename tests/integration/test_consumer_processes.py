"""Consumer processes sharing a stream through leases, with a kill -9 in the middle.

Three `cinesis-example-consumer` processes with the same application share a 6-shard
stream on a durable cinesis-server through leases in SQLite, Redis and PostgreSQL (each a
real server started here on a free loopback port). The test checks that the shards are
balanced (2 each), that after one process is killed with SIGKILL the others take its
shards over within the lease timeout, and that every record is consumed (at least
once), with duplicates bounded by the checkpoint policy.
"""
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from tests.integration import harness

REPO = harness.REPO_ROOT
CONSUMER = os.environ.get('CINESIS_EXAMPLE_CONSUMER',
                          os.path.join(REPO, 'build', 'debug', 'examples', 'cinesis-example-consumer'))
PG_BIN = sorted(glob.glob('/usr/lib/postgresql/*/bin'))[-1] if glob.glob('/usr/lib/postgresql/*/bin') else None
CHECKPOINT_EVERY = 100


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


class Services(object):
    """Redis and PostgreSQL servers of our own, stopped by PID."""

    def __init__(self):
        self.procs = []
        self.dirs = []

    def redis(self):
        exe = shutil.which('redis-server')
        if not exe:
            raise AssertionError('redis-server not installed (scripts/install-deps.sh installs it)')
        port = free_port()
        p = subprocess.Popen([exe, '--port', str(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        assert wait_port(port), 'redis did not start'
        return 'redis:127.0.0.1:%d' % port

    def postgres(self):
        if not PG_BIN:
            raise AssertionError('PostgreSQL not installed (scripts/install-deps.sh installs it)')
        d = tempfile.mkdtemp(prefix='cinesis-pg-')
        self.dirs.append(d)
        user = 'postgres'
        as_user = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            pw = pwd.getpwnam(user)
            os.chown(d, pw.pw_uid, pw.pw_gid)
            as_user = ['runuser', '-u', user, '--']
        data = os.path.join(d, 'data')
        subprocess.run(as_user + [os.path.join(PG_BIN, 'initdb'), '-D', data, '-A', 'trust', '-U', user],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port = free_port()
        p = subprocess.Popen(as_user + [os.path.join(PG_BIN, 'postgres'), '-D', data, '-p', str(port), '-k', d,
                                        '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        assert wait_port(port), 'postgres did not start'
        time.sleep(0.5)
        return 'postgres:host=127.0.0.1 port=%d dbname=postgres user=%s' % (port, user)

    def stop(self):
        for p in self.procs:
            p.terminate()
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        for d in self.dirs:
            shutil.rmtree(d, True)


class ConsumerProcesses(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='cinesis-consumers-')
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.server = harness.CinesisServer(data_dir=os.path.join(self.tmp, 'data'))
        self.server.start()
        self.addCleanup(self.server.stop)
        self.client = harness.make_client(self.server.endpoint)
        self.services = Services()
        self.addCleanup(self.services.stop)

    def log_file(self, path):
        f = open(path, 'w')
        self.addCleanup(f.close)
        return f

    def put(self, stream, start, n):
        for base in range(start, start + n, 500):
            recs = [{'Data': str(i).encode(), 'PartitionKey': 'k%d' % (i % 97)}
                    for i in range(base, min(base + 500, start + n))]
            out = self.client.put_records(StreamName=stream, Records=recs)
            self.assertEqual(out['FailedRecordCount'], 0)

    def owned(self, log):
        try:
            with open(log) as f:
                lines = f.read().splitlines()
        except OSError:
            return None
        for line in reversed(lines):
            m = re.search(r'owns (\d+) shards', line)
            if m:
                return int(m.group(1))
        return None

    def consumed(self, outs):
        values = []
        for path in outs:
            if os.path.exists(path):
                with open(path) as f:
                    text = f.read()
                for line in text.splitlines():
                    parts = line.split(' ')
                    if len(parts) == 4:
                        values.append(int(parts[3]))
        return values

    def scenario(self, store):
        stream = 'leases-' + re.sub(r'[^a-z]', '', store.split(':')[0])
        self.client.create_stream(StreamName=stream, ShardCount=6)
        harness.wait_active(self.client, stream)
        self.put(stream, 0, 12000)
        procs, outs, logs = {}, [], []
        for w in ('w1', 'w2', 'w3'):
            out = os.path.join(self.tmp, '%s-%s.out' % (stream, w))
            log = os.path.join(self.tmp, '%s-%s.log' % (stream, w))
            outs.append(out)
            logs.append(log)
            procs[w] = subprocess.Popen([CONSUMER, '--endpoint', self.server.endpoint, '--stream', stream,
                                         '--app', 'billing', '--store', store, '--worker', w, '--out', out,
                                         '--checkpoint-every', str(CHECKPOINT_EVERY), '--lease-ttl-ms', '1500'],
                                        stdout=subprocess.DEVNULL, stderr=self.log_file(log))
        self.addCleanup(lambda: [p.kill() for p in procs.values() if p.poll() is None])
        # Balanced: each of the three workers holds two shards.
        end = time.time() + 30
        while time.time() < end and [self.owned(l) for l in logs] != [2, 2, 2]:
            time.sleep(0.1)
        self.assertEqual([self.owned(l) for l in logs], [2, 2, 2], 'shards were not balanced')
        # kill -9 one worker while records are still flowing.
        end = time.time() + 30
        while time.time() < end and len(set(self.consumed(outs))) < 6000:
            time.sleep(0.05)
        procs['w2'].send_signal(signal.SIGKILL)
        procs['w2'].wait()
        killed_at = time.time()
        self.put(stream, 12000, 6000)
        # The survivors take w2's shards over (3 each) once its leases expire.
        end = time.time() + 30
        while time.time() < end and [self.owned(logs[0]), self.owned(logs[2])] != [3, 3]:
            time.sleep(0.1)
        self.assertEqual([self.owned(logs[0]), self.owned(logs[2])], [3, 3], 'no failover')
        failover = time.time() - killed_at
        end = time.time() + 60
        while time.time() < end and len(set(self.consumed(outs))) < 18000:
            time.sleep(0.1)
        values = self.consumed(outs)
        missing = set(range(18000)) - set(values)
        self.assertFalse(missing, '%d records never consumed, e.g. %s' % (len(missing), sorted(missing)[:10]))
        dups = len(values) - len(set(values))
        # At-least-once: only records after the last checkpoint of the killed worker's
        # shards (at most one policy window plus one batch per shard) come twice.
        self.assertLessEqual(dups, 2 * (CHECKPOINT_EVERY + 10000), 'too many duplicates')
        for w in ('w1', 'w3'):
            procs[w].send_signal(signal.SIGTERM)
            self.assertEqual(procs[w].wait(timeout=30), 0)
        print('%s: failover observed after %.1f s, %d duplicates' % (store.split(':')[0], failover, dups))

    def test_restart_after_kill9_loses_nothing_and_replays_at_most_the_policy_window(self):
        stream = 'restart'
        self.client.create_stream(StreamName=stream, ShardCount=2)
        harness.wait_active(self.client, stream)
        self.put(stream, 0, 20000)
        out = os.path.join(self.tmp, 'restart.out')
        store = 'sqlite:' + os.path.join(self.tmp, 'restart.db')
        args = [CONSUMER, '--endpoint', self.server.endpoint, '--stream', stream, '--app', 'audit', '--store', store,
                '--worker', 'only', '--out', out, '--checkpoint-every', '1000', '--lease-ttl-ms', '1000',
                '--limit', '200']
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.time() + 30
        while time.time() < end and len(self.consumed([out])) < 3000:
            time.sleep(0.01)
        p.send_signal(signal.SIGKILL)
        p.wait()
        before = len(self.consumed([out]))
        self.put(stream, 20000, 5000)
        p = subprocess.Popen(args + ['--exit-when-idle-ms', '4000'], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.assertEqual(p.wait(timeout=60), 0)
        values = self.consumed([out])
        self.assertEqual(set(values), set(range(25000)), 'records lost')
        dups = len(values) - len(set(values))
        # The kill came mid-stream (batches of 200), not after everything was consumed.
        self.assertLess(before, 20000)
        # Replayed: what the killed process consumed after its last checkpoint, i.e. at
        # most one checkpoint window plus one GetRecords batch per shard.
        self.assertLessEqual(dups, 2 * (1000 + 200))
        print('restart: %d consumed before the kill, %d duplicates after restart' % (before, dups))

    def test_sqlite(self):
        self.scenario('sqlite:' + os.path.join(self.tmp, 'leases.db'))

    def test_redis(self):
        self.scenario(self.services.redis())

    def test_postgres(self):
        self.scenario(self.services.postgres())


if __name__ == '__main__':
    unittest.main()
