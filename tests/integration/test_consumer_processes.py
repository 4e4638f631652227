"""Consumer processes sharing a stream through leases, with a kill -9 in the middle.

Three `cinesis-example-consumer` processes with the same application share a 6-shard
stream on a durable cinesis-server through leases in SQLite, Redis and PostgreSQL (each a
real server started here on a free loopback port). The test checks that the shards are
balanced (2 each), that after one process is killed with SIGKILL (under a running producer,
holding unprocessed and uncheckpointed records) the others take its shards over within a
bound of the lease timeout, that every record is consumed, and that only the killed
worker's uncheckpointed records come twice (at most one policy window and one batch per
shard).
"""
import collections
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from tests.integration import harness

REPO = harness.REPO_ROOT
CONSUMER = os.environ.get('CINESIS_EXAMPLE_CONSUMER',
                          os.path.join(REPO, 'build', 'debug', 'examples', 'cinesis-example-consumer'))
PG_BIN = sorted(glob.glob('/usr/lib/postgresql/*/bin'))[-1] if glob.glob('/usr/lib/postgresql/*/bin') else None
# Checkpoints every 500 records, read 30 at a time (not a divisor: the killed worker almost
# always has records processed but not checkpointed). It is killed after consuming 4,000, so
# a replay from anywhere but its last checkpoint breaks the bound 2 x (500 + 30).
CHECKPOINT_EVERY = 500
LIMIT = 30             # records per GetRecords call
KILL_AFTER = 4000      # records consumed by the worker that is killed
LEASE_TTL_MS = 1500
TOTAL = 24000


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

    def lines(self, path):
        """(shard, value) of every complete line of a consumer's output (a kill -9 may cut
        the last one)."""
        if not os.path.exists(path):
            return []
        with open(path) as f:
            text = f.read()
        if text and not text.endswith('\n'):
            text = text[:text.rfind('\n') + 1]
        out = []
        for line in text.splitlines():
            parts = line.split(' ')
            if len(parts) == 4:
                out.append((parts[0], int(parts[3])))
        return out

    def consumed(self, outs):
        return [v for path in outs for _, v in self.lines(path)]

    def scenario(self, store):
        """Three workers; a producer keeps writing; one worker is killed (SIGKILL) while it
        holds records it has not processed and records it processed but not checkpointed.
        The survivors take its shards over once its leases expire (bounded), every record
        is consumed, and what comes twice is only what the killed worker consumed after its
        last checkpoint: at most CHECKPOINT_EVERY + LIMIT per shard of its two."""
        stream = 'leases-' + re.sub(r'[^a-z]', '', store.split(':')[0])
        self.client.create_stream(StreamName=stream, ShardCount=6)
        harness.wait_active(self.client, stream)
        self.put(stream, 0, 6000)
        procs, outs, logs = {}, [], []
        for w in ('w1', 'w2', 'w3'):
            out = os.path.join(self.tmp, '%s-%s.out' % (stream, w))
            log = os.path.join(self.tmp, '%s-%s.log' % (stream, w))
            outs.append(out)
            logs.append(log)
            procs[w] = subprocess.Popen([CONSUMER, '--endpoint', self.server.endpoint, '--stream', stream,
                                         '--app', 'billing', '--store', store, '--worker', w, '--out', out,
                                         '--checkpoint-every', str(CHECKPOINT_EVERY), '--limit', str(LIMIT),
                                         '--lease-ttl-ms', str(LEASE_TTL_MS)],
                                        stdout=subprocess.DEVNULL, stderr=self.log_file(log))
        self.addCleanup(lambda: [p.kill() for p in procs.values() if p.poll() is None])
        # Balanced: each of the three workers holds two shards.
        end = time.time() + 30
        while time.time() < end and [self.owned(l) for l in logs] != [2, 2, 2]:
            time.sleep(0.1)
        self.assertEqual([self.owned(l) for l in logs], [2, 2, 2], 'shards were not balanced')
        balanced_at = len(self.lines(outs[1]))  # before: w2 may have read shards it handed over
        # A producer writes all along, through the kill and the failover.
        written = [6000]
        stop = threading.Event()
        errors = []

        def produce():
            try:
                while not stop.is_set() and written[0] < TOTAL:
                    self.put(stream, written[0], 250)
                    written[0] += 250
                    time.sleep(0.02)
            except Exception as e:  # noqa: B902 -- reported by the test
                errors.append(repr(e))
        writer = threading.Thread(target=produce, daemon=True)
        writer.start()
        self.addCleanup(stop.set)
        # Kill w2 mid-stream: once it has consumed a while (small batches of LIMIT records).
        end = time.time() + 30
        while time.time() < end and len(self.lines(outs[1])) < KILL_AFTER:
            time.sleep(0.01)
        written_at_kill = written[0]
        procs['w2'].send_signal(signal.SIGKILL)
        procs['w2'].wait()
        killed_at = time.time()
        w2 = self.lines(outs[1])
        w2_shards = {shard for shard, _ in w2[balanced_at:]}
        w2_values = {v for _, v in w2}
        self.assertEqual(len(w2_shards), 2, 'w2 consumed from %s' % sorted(w2_shards))
        self.assertGreaterEqual(len(w2), KILL_AFTER, 'w2 was killed before it consumed %d records' % KILL_AFTER)
        # The survivors take w2's shards over (3 each) once its leases expire.
        end = time.time() + 30
        while time.time() < end and [self.owned(logs[0]), self.owned(logs[2])] != [3, 3]:
            time.sleep(0.05)
        failover = time.time() - killed_at
        self.assertEqual([self.owned(logs[0]), self.owned(logs[2])], [3, 3], 'no failover')
        self.assertLess(failover, LEASE_TTL_MS / 1000.0 + 8, 'takeover took %.1f s' % failover)
        writer.join(120)
        self.assertFalse(writer.is_alive(), 'the producer did not finish')
        self.assertEqual(errors, [])
        self.assertEqual(written[0], TOTAL)
        survivors = [outs[0], outs[2]]
        end = time.time() + 60
        while time.time() < end and len(set(self.consumed(outs))) < TOTAL:
            time.sleep(0.1)
        values = self.consumed(outs)
        missing = set(range(TOTAL)) - set(values)
        self.assertFalse(missing, '%d records never consumed, e.g. %s' % (len(missing), sorted(missing)[:10]))
        self.assertEqual(set(values), set(range(TOTAL)))
        # w2 died holding records: written to its shards before the kill, not processed by it.
        held = [v for shard, v in self.lines(outs[0]) + self.lines(outs[2])
                if shard in w2_shards and v < written_at_kill and v not in w2_values]
        self.assertGreater(len(held), 0, 'w2 had processed everything written before the kill')
        # Only w2's records after its last checkpoint come twice (replayed by a survivor).
        counts = collections.Counter(values)
        dup_values = [v for v, n in counts.items() if n > 1]
        dups = sum(counts[v] - 1 for v in dup_values)
        self.assertTrue(all(counts[v] == 2 for v in dup_values), 'a record consumed 3 times or more')
        strays = [v for v in dup_values if v not in w2_values]
        self.assertEqual(strays, [], 'records consumed twice that the killed worker never had')
        bound = 2 * (CHECKPOINT_EVERY + LIMIT)
        self.assertLessEqual(dups, bound, 'too many duplicates (bound %d of %d records)' % (bound, TOTAL))
        replayed_by_survivors = [v for _, v in self.lines(survivors[0]) + self.lines(survivors[1]) if v in w2_values]
        self.assertEqual(len(replayed_by_survivors), dups)
        for w in ('w1', 'w3'):
            procs[w].send_signal(signal.SIGTERM)
            self.assertEqual(procs[w].wait(timeout=30), 0)
        print('%s: killed w2 with %d records held (unprocessed), takeover after %.1f s, %d duplicates '
              '(bound %d)' % (store.split(':')[0], len(held), failover, dups, bound))

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
