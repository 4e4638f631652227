"""`cinesis streams | put | tail` against a cinesis server (the client commands of the one `cinesis` binary).

Run:  /usr/bin/python3 -m unittest -v tests/integration/test_cinesis_cli.py   (from the repo root)
"""

import base64
import datetime
import http.client
import http.server
import json
import os
import pty
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from . import harness as h

SERVER = None


def setUpModule():
    global SERVER
    SERVER = h.CinesisServer().start()
    CinesisCli.server = SERVER
    CinesisCliHabits.server = SERVER


def tearDownModule():
    h.stop_server_checked(SERVER)


class CinesisCli(h.ServerTestCase):

    def run_cli(self, *args, stdin=None, ok=True):
        env = dict(os.environ)
        # No credentials at all: against a local endpoint the commands sign with placeholders.
        for k in ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'):
            env.pop(k, None)
        env['AWS_SHARED_CREDENTIALS_FILE'] = env['AWS_CONFIG_FILE'] = os.devnull
        p = subprocess.run([h.binary_path()] + list(args) + ['--endpoint', self.server.endpoint],
                           input=stdin, capture_output=True, env=env, timeout=120)
        if ok:
            self.assertEqual(p.returncode, 0, p.stderr.decode(errors='replace'))
        return p

    def test_streams_put_and_tail(self):
        name = h.unique_name('cli-tools')
        out = self.run_cli('streams', 'create', name, '--shards', '3').stdout.decode()
        self.assertEqual(out.strip(), '%s ACTIVE' % h.stream_arn(name))
        listed = self.run_cli('streams', 'list').stdout.decode().splitlines()
        self.assertIn('%s\tACTIVE\t3 shards\tPROVISIONED' % name, listed)
        described = self.run_cli('streams', 'describe', name).stdout.decode()
        self.assertIn('3 open shards', described)
        self.assertIn('shardId-000000000002', described)

        # arguments are records; without them every line of standard input is one
        p = self.run_cli('put', name, 'first', 'second', '-k', 'same-key')
        self.assertIn(b'2 records put', p.stderr)
        lines = ['line-%04d' % i for i in range(1200)]
        p = self.run_cli('put', name, stdin=('\n'.join(lines) + '\n').encode())
        self.assertIn(b'1200 records put', p.stderr)

        got = self.run_cli('tail', name, '--from', 'trim-horizon', '--no-follow').stdout.decode().splitlines()
        self.assertEqual(sorted(got), sorted(['first', 'second'] + lines))
        # per shard in order: one key keeps its order
        self.assertLess(got.index('first'), got.index('second'))

        records = [json.loads(l) for l in
                   self.run_cli('tail', name, '--from', 'trim-horizon', '--limit', '5', '--json')
                   .stdout.decode().splitlines()]
        self.assertEqual(len(records), 5)
        for r in records:
            self.assertRegex(r['SequenceNumber'], h.SEQ_RE)
            self.assertRegex(r['ShardId'], r'^shardId-\d{12}$')
            base64.b64decode(r['Data'], validate=True)

        # LATEST with nothing new: caught up at once
        self.assertEqual(self.run_cli('tail', name, '--no-follow').stdout, b'')

        self.assertEqual(self.run_cli('streams', 'delete', name).stdout.decode().strip(), '%s deleted' % name)

    def test_bench_counts_a_record_target_reached_within_the_warmup(self):
        """Regression: `cinesis bench --records N` ending inside the warmup measured an empty
        window (0 records, exit 1); the whole run is the window then."""
        p = self.run_cli('bench', '--scenario', 'put-records', '--records', '2000', '--warmup', '30s',
                         '--connections', '1', '--shards', '1', '--json', '--quiet')
        result = json.loads(p.stdout.decode().strip().splitlines()[-1])
        self.assertGreaterEqual(result['records'], 2000)
        self.assertGreater(result['records_per_s'], 0)

    def run_bench(self, *args, nofile=None):
        """`cinesis bench ARGS`; with `nofile` (soft, hard), under that open-files limit."""
        def limit():
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, nofile)
        return subprocess.run([h.binary_path(), 'bench', '--endpoint', self.server.endpoint, '--quiet']
                              + list(args), capture_output=True, timeout=120, preexec_fn=limit)

    def test_bench_rejects_connection_and_io_thread_counts_out_of_range(self):
        for args, message in [
                (['--connections', '0'], b'--connections: Value 0 not in range 1 to 10000'),
                (['--connections', '10001'], b'--connections: Value 10001 not in range 1 to 10000'),
                (['--io-threads', '0'], b'--io-threads: Value 0 not in range 1 to 64'),
                (['--io-threads', '65'], b'--io-threads: Value 65 not in range 1 to 64'),
                (['--scenario', 'get-records', '--connections', '1025'],
                 b'get-records runs one thread per connection: --connections at most 1024'),
                (['--scenario', 'mixed', '--connections', '2000'],
                 b'mixed runs one thread per connection: --connections at most 1024')]:
            p = self.run_bench(*args)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn(message, p.stderr, args)

    def test_bench_exits_2_when_the_open_files_hard_limit_is_below_its_connections(self):
        p = self.run_bench('--scenario', 'put-record', '--connections', '1000', '--duration', '1s',
                           nofile=(200, 200))
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b'cinesis bench: --connections 1000 needs 1032 open files, but their hard limit '
                      b'is 200 (raise it, e.g. ulimit -Hn, or use fewer connections)', p.stderr)

    def test_bench_runs_100_connections_on_event_loops_under_a_low_soft_limit(self):
        """More than 64 connections run on --io-threads event loops; the open-files soft limit
        (here 64, below the 100 connections) is raised to the hard limit."""
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        p = self.run_bench('--scenario', 'put-record', '--connections', '100', '--io-threads', '2',
                           '--duration', '1s', '--shards', '2', '--json',
                           '--server-pid', str(self.server.proc.pid), nofile=(64, hard))
        self.assertEqual(p.returncode, 0, p.stderr)
        result = json.loads(p.stdout.decode().strip().splitlines()[-1])
        self.assertEqual(result['errors'], 0, result.get('first_error'))
        self.assertEqual(result['connections'], 100)
        self.assertEqual(result['io_threads'], 2)
        self.assertEqual(result['connects'], 100)  # every connection opened once and kept
        self.assertGreater(result['calls'], 0)
        self.assertGreater(result['p99_ms'], 0)
        self.assertGreaterEqual(result['p99_ms'], result['p50_ms'])
        self.assertIn('server_cpu_us_per_call', result)
        self.assertIn(b'100 connections on 2 event loops', p.stderr)

    def test_bench_gives_up_once_when_the_server_goes_away(self):
        """Regression: with one thread per connection, every connection that saw 50 failures
        in a row printed its own "giving up" line (all of them, in step, when the server
        went away), and the run still exited 0. The run stops once, says so once and exits 1,
        on threads (16 connections) and on event loops (100)."""
        for connections in ('16', '100'):
            with self.subTest(connections=connections):
                server = h.CinesisServer().start()
                self.addCleanup(server.cleanup_files)
                bench = subprocess.Popen(
                    [h.binary_path(), 'bench', '--endpoint', server.endpoint, '--quiet',
                     '--scenario', 'put-record', '--connections', connections, '--duration', '60s',
                     '--warmup', '0s'], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                self.addCleanup(lambda b=bench: b.poll() is None and b.kill())
                deadline = time.monotonic() + 60
                putting = re.compile(rb'cinesis_incoming_records_total\{[^}]*\} [1-9]')
                while not putting.search(_metrics(server)) and time.monotonic() < deadline:
                    time.sleep(0.05)
                h.stop_server_checked(server)
                _, err = bench.communicate(timeout=60)
                self.assertEqual(bench.returncode, 1, err)
                self.assertEqual(err.count(b'consecutive failures'), 1, err)

    def test_bench_puts_a_record_target_exactly_on_event_loops(self):
        p = self.run_bench('--scenario', 'put-records', '--connections', '80', '--batch', '10',
                           '--records', '4000', '--shards', '1', '--json')
        self.assertEqual(p.returncode, 0, p.stderr)
        result = json.loads(p.stdout.decode().strip().splitlines()[-1])
        self.assertEqual((result['records'], result['errors'], result['io_threads']), (4000, 0, 1))

    def test_errors_are_reported_with_the_service_text(self):
        missing = h.unique_name('cli-missing')
        p = self.run_cli('streams', 'describe', missing, ok=False)
        self.assertEqual(p.returncode, 3)
        self.assertIn(('ResourceNotFoundException: Stream %s under account %s not found.'
                       % (missing, h.ACCOUNT_ID)).encode(), p.stderr)
        p = self.run_cli('put', missing, 'x', ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b'ResourceNotFoundException', p.stderr)


# ---------------------------------------------------------------------------
# Issue 12, item 6: the habits of kcat and the AWS CLI
# ---------------------------------------------------------------------------

def _clean_env(extra=None):
    env = dict(os.environ)
    for k in ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE',
              'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_KINESIS'):
        env.pop(k, None)
    env['AWS_SHARED_CREDENTIALS_FILE'] = env['AWS_CONFIG_FILE'] = os.devnull
    env.update(extra or {})
    return env


def _metrics(server):
    """The server's Prometheus text (b'' when it does not answer)."""
    try:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
        conn.request('GET', '/_cinesis/metrics')
        return conn.getresponse().read()
    except OSError:
        return b''


def _closed_port():
    """A loopback port nothing listens on (bound, then closed)."""
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _run_with_pty_stderr(args, env, stdin=subprocess.DEVNULL, timeout=60):
    """Runs `args` with stderr on a pseudo-terminal; returns (returncode, stdout, terminal text)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(args, stdin=stdin, stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed its side
                break
            if not data:
                break
            chunks.append(data)
        elif p.poll() is not None:
            break
    os.close(master)
    out = p.stdout.read()
    p.stdout.close()
    rc = p.wait(10)
    return rc, out, b''.join(chunks).decode(errors='replace')


class _FakeKinesis(object):
    """An HTTP endpoint that answers every call with one AWS error (for the exit-code classes)."""

    def __init__(self, status, error_type, message):
        body = json.dumps({'__type': error_type, 'message': message}).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get('Content-Length', 0)))
                self.send_response(status)
                self.send_header('Content-Type', 'application/x-amz-json-1.1')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.endpoint = 'http://127.0.0.1:%d' % self.httpd.server_address[1]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


class CinesisCliHabits(h.ServerTestCase):

    def cli(self, *args, stdin=None, endpoint=None, env=None, timeout=60, binary=None):
        """Runs a client command; --endpoint is the module's server unless endpoint=False."""
        argv = [binary or h.binary_path()] + list(args)
        if endpoint is not False:
            argv += ['--endpoint', endpoint or self.server.endpoint]
        return subprocess.run(argv, input=stdin, capture_output=True, env=_clean_env(env), timeout=timeout)

    def ok(self, *args, **kw):
        p = self.cli(*args, **kw)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors='replace'))
        return p

    def stream(self, shards=1, prefix='cli'):
        name = h.unique_name(prefix)
        self.ok('streams', 'create', name, '--shards', str(shards))
        return name

    def records(self, name, *extra):
        """(shard, sequence, key, arrival ms, data) of every record, trim horizon to now."""
        out = self.ok('tail', name, '--from', 'trim-horizon', '--no-follow',
                      '-f', '%s\\t%S\\t%k\\t%T\\t%d\\n', *extra).stdout.decode()
        rows = [l.split('\t') for l in out.splitlines()]
        return [(r[0], r[1], r[2], int(r[3]), r[4]) for r in rows]

    # -- put -------------------------------------------------------------------

    def test_put_shows_progress_on_a_terminal_and_a_summary_with_the_rate(self):
        name = self.stream(2)
        with tempfile.NamedTemporaryFile('w', suffix='.txt', delete=False) as f:
            for i in range(20000):
                f.write('record-%06d-%s\n' % (i, 'x' * 80))
        self.addCleanup(os.unlink, f.name)
        rc, _, term = _run_with_pty_stderr(
            [h.binary_path(), 'put', name, '--file', f.name, '--endpoint', self.server.endpoint],
            _clean_env())
        self.assertEqual(rc, 0, term)
        # the progress line, rewritten in place: records, MB/s, percent and ETA of the file
        self.assertIn('\r\x1b[K', term)
        progress = [seg for seg in term.split('\r\x1b[K') if 'lines read' in seg]
        self.assertTrue(progress, term)
        self.assertRegex(progress[-1], r'20000 lines read, 20000 records put, [\d.]+ MB, [\d.]+ MB/s, '
                                       r'\d+ records/s, 100%, ETA 0s')
        self.assertRegex(term, r'20000 records put to %s in [\d.]+ s \(\d+ records/s, [\d.]+ MB/s; '
                               r'0 failed, \d+ retries\)' % name)
        # not a terminal: the summary only, no progress
        p = self.ok('put', name, '--file', f.name)
        self.assertNotIn(b'\x1b[K', p.stderr)
        self.assertNotIn(b'lines read', p.stderr)
        self.assertIn(b'20000 records put to ' + name.encode(), p.stderr)

    def test_ctrl_c_writes_what_was_read_and_names_the_last_line(self):
        name = self.stream(2)
        # a linger of a minute: nothing is sent before Ctrl-C unless the flush sends it
        master, slave = pty.openpty()
        p = subprocess.Popen([h.binary_path(), 'put', name, '--linger', '60000',
                              '--endpoint', self.server.endpoint],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=slave, env=_clean_env())
        os.close(slave)
        try:
            p.stdin.write(b''.join(b'line-%03d\n' % i for i in range(1, 51)))
            p.stdin.flush()
            term = b''
            deadline = time.monotonic() + 20
            while b'50 lines read' not in term and time.monotonic() < deadline:
                if select.select([master], [], [], 0.5)[0]:
                    term += os.read(master, 65536)
            self.assertIn(b'50 lines read, 0 records put', term)
            p.send_signal(signal.SIGINT)
            rc = p.wait(15)
            while select.select([master], [], [], 0.2)[0]:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    break
                if not data:
                    break
                term += data
        finally:
            if p.poll() is None:
                p.kill()
                p.wait(5)
            p.stdin.close()
            os.close(master)
        text = term.decode(errors='replace')
        self.assertEqual(rc, 130, text)
        self.assertIn('50 records put to %s' % name, text)
        self.assertIn('interrupted: 50 of 50 lines read were written; every input line up to line 50 is written',
                      text)
        self.assertEqual(sorted(r[4] for r in self.records(name)), ['line-%03d' % i for i in range(1, 51)])

    def test_unreachable_server_fails_within_two_seconds(self):
        dead = 'http://127.0.0.1:%d' % _closed_port()
        for args in (['put', 'some-stream', 'x'], ['put', 'some-stream'], ['tail', 'some-stream'],
                     ['streams', 'list']):
            start = time.monotonic()
            p = self.cli(*args, endpoint=dead, stdin=b'a\nb\n', timeout=30)
            elapsed = time.monotonic() - start
            self.assertEqual(p.returncode, 6, (args, p.stderr))
            self.assertIn(b'IOError: request to ' + dead.encode(), p.stderr)
            self.assertLess(elapsed, 2.5, args)

    def test_key_delimiter_splits_key_and_data(self):
        name = self.stream(2)
        self.ok('put', name, '-K', '::', stdin=b'alpha::one\nbeta::two::more\nalpha::three\nno-key-here\n')
        rows = self.records(name)
        keyed = sorted((k, d) for _, _, k, _, d in rows if d != 'no-key-here')
        self.assertEqual(keyed, [('alpha', 'one'), ('alpha', 'three'), ('beta', 'two::more')])
        unkeyed = [k for _, _, k, _, d in rows if d == 'no-key-here']
        self.assertEqual(len(unkeyed), 1)
        self.assertRegex(unkeyed[0], h.UUID_RE)  # no delimiter: a random key
        # one key, one shard, in input order
        alpha = [r for r in rows if r[2] == 'alpha']
        self.assertEqual(alpha[0][0], alpha[1][0])
        self.assertEqual([r[4] for r in alpha], ['one', 'three'])

    def test_an_oversized_line_is_named_by_its_number(self):
        name = self.stream(1)
        big = b'y' * (1024 * 1024 + 1)
        p = self.cli('put', name, stdin=b'first\nsecond\n' + big + b'\nafter\n')
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b'cinesis: line 3: ValidationException: record larger than 1 MiB', p.stderr)
        self.assertIn(b'2 records put to ' + name.encode(), p.stderr)
        self.assertEqual(sorted(r[4] for r in self.records(name)), ['first', 'second'])

    # -- tail ------------------------------------------------------------------

    def test_tail_from_a_sequence_number_reads_its_shard_from_there(self):
        name = self.stream(2)
        self.ok('put', name, *['v%02d' % i for i in range(20)])
        rows = self.records(name)
        shard, seq = rows[3][0], rows[3][1]
        expected = [r[4] for r in rows if r[0] == shard][[r[1] for r in rows if r[0] == shard].index(seq):]
        got = self.ok('tail', name, '--from', seq, '--no-follow').stdout.decode().splitlines()
        self.assertEqual(got, expected)
        got = self.ok('tail', name, '--from', seq, '--shard', shard, '--no-follow').stdout.decode().splitlines()
        self.assertEqual(got, expected)
        other = 'shardId-000000000001' if shard.endswith('0') else 'shardId-000000000000'
        p = self.cli('tail', name, '--from', seq, '--shard', other, '--no-follow')
        self.assertEqual(p.returncode, 2, p.stderr)

    def test_tail_from_a_timestamp_iso_8601_and_epoch(self):
        name = self.stream(2)
        self.ok('put', name, *['old-%d' % i for i in range(10)])
        last_old = max(r[3] for r in self.records(name))
        deadline = time.monotonic() + 5
        while time.time() * 1000 <= last_old + 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        self.ok('put', name, *['new-%d' % i for i in range(10)])
        start = min(r[3] for r in self.records(name) if r[4].startswith('new-'))
        self.assertGreater(start, last_old)
        iso = datetime.datetime.fromtimestamp(start / 1000, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3] + 'Z'
        for spec in (iso, '%d.%03d' % (start // 1000, start % 1000), str(start)):
            got = self.ok('tail', name, '--from', spec, '--no-follow').stdout.decode().splitlines()
            self.assertEqual(sorted(got), sorted('new-%d' % i for i in range(10)), spec)
        p = self.cli('tail', name, '--from', 'yesterday')
        self.assertEqual(p.returncode, 2)
        self.assertIn(b'--from yesterday: expected latest, trim-horizon', p.stderr)

    def test_tail_shard_reads_only_that_shard(self):
        name = self.stream(3)
        self.ok('put', name, *['s%02d' % i for i in range(30)])
        rows = self.records(name)
        for shard_arg, shard in (('1', 'shardId-000000000001'), ('shardId-000000000002', 'shardId-000000000002')):
            got = self.ok('tail', name, '--shard', shard_arg, '--from', 'trim-horizon', '--no-follow',
                          '-f', '%s %d\\n').stdout.decode().splitlines()
            self.assertEqual(got, ['%s %s' % (r[0], r[4]) for r in rows if r[0] == shard])
            self.assertTrue(got)
        p = self.cli('tail', name, '--shard', '7', '--no-follow')
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn(b'shardId-000000000007', p.stderr)

    def test_tail_app_resumes_without_duplicates_or_gaps(self):
        name = self.stream(3)
        self.ok('put', name, *['r%02d' % i for i in range(30)])
        tmp = tempfile.mkdtemp(prefix='cinesis-cli-')
        self.addCleanup(shutil.rmtree, tmp, True)
        env = {'XDG_DATA_HOME': tmp}  # the default store lives under the user's data dir
        first = self.ok('tail', name, '--app', 'reader', '--from', 'trim-horizon', '--count', '7',
                        env=env).stdout.decode().splitlines()
        self.assertEqual(len(first), 7)
        self.assertTrue(os.path.isfile(os.path.join(tmp, 'cinesis-cli', 'checkpoints.sqlite')))
        second = self.ok('tail', name, '--app', 'reader', '--no-follow', env=env).stdout.decode().splitlines()
        self.assertEqual(sorted(first + second), ['r%02d' % i for i in range(30)])
        self.ok('put', name, 'late-1', 'late-2')
        third = self.ok('tail', name, '--app', 'reader', '--no-follow', env=env).stdout.decode().splitlines()
        self.assertEqual(sorted(third), ['late-1', 'late-2'])
        # another application, another explicit store: its own position
        store = 'sqlite:' + os.path.join(tmp, 'other.sqlite')
        other = self.ok('tail', name, '--app', 'other', '--store', store, '--from', 'trim-horizon',
                        '--no-follow').stdout.decode().splitlines()
        self.assertEqual(len(other), 32)
        p = self.cli('tail', name, '--app', 'x', '--store', 'redis:localhost:1', '--no-follow')
        self.assertEqual(p.returncode, 2, p.stderr)

    def test_tail_format_template_and_count(self):
        name = self.stream(1)
        before = int(time.time() * 1000)
        self.ok('put', name, '-k', 'the-key', 'a', 'b', 'c', 'd')
        out = self.ok('tail', name, '--from', 'trim-horizon', '--count', '3',
                      '-f', 'key=%k shard=%s seq=%S ms=%T at=%t data=%d%%\\t|\\n').stdout.decode()
        lines = out.split('\n')
        self.assertEqual(lines[-1], '')
        self.assertEqual(len(lines) - 1, 3)  # --count 3 of 4, then exits while following
        m = re.match(r'^key=the-key shard=shardId-000000000000 seq=(\d{56}) ms=(\d+) '
                     r'at=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) data=a%\t\|$', lines[0])
        self.assertIsNotNone(m, lines[0])
        ms = int(m.group(2))
        self.assertGreaterEqual(ms, before - 1000)
        self.assertEqual(datetime.datetime.strptime(m.group(3), '%Y-%m-%dT%H:%M:%S.%fZ')
                         .replace(tzinfo=datetime.timezone.utc).timestamp() * 1000, ms)
        self.assertTrue(lines[1].endswith('data=b%\t|'))
        for bad in ('%x', 'tail\\', '\\q'):
            p = self.cli('tail', name, '-f', bad, '--no-follow')
            self.assertEqual(p.returncode, 2, (bad, p.stderr))
            self.assertIn(b'format:', p.stderr)

    # -- streams delete ----------------------------------------------------------

    def test_streams_delete_waits_until_gone_unless_no_wait(self):
        slow = h.CinesisServer(delete_stream_ms=1500).start()
        self.addCleanup(h.stop_server_checked, slow)
        for wait in (True, False):
            name = h.unique_name('cli-del')
            self.ok('streams', 'create', name, endpoint=slow.endpoint)
            args = ['streams', 'delete', name] + ([] if wait else ['--no-wait'])
            out = self.ok(*args, endpoint=slow.endpoint).stdout.decode().strip()
            described = self.cli('streams', 'describe', name, endpoint=slow.endpoint)
            if wait:
                self.assertEqual(out, '%s deleted' % name)
                self.assertEqual(described.returncode, 3, described.stdout)
            else:
                self.assertEqual(out, '%s deleting' % name)
                self.assertEqual(described.returncode, 0, described.stderr)
                self.assertIn(b'status DELETING', described.stdout)

    # -- exit codes, endpoint, one binary ------------------------------------------

    def test_exit_codes_per_class_of_failure(self):
        self.assertIn(b'Exit codes', self.ok('--help', endpoint=False).stdout)
        self.assertIn(b'6 endpoint unreachable', self.ok('put', '--help', endpoint=False).stdout)
        self.assertEqual(self.cli('put', name_missing := h.unique_name('cli-none'), 'x').returncode, 3)
        self.assertEqual(self.cli('tail', name_missing, '--no-follow').returncode, 3)
        self.assertEqual(self.cli('put', '--no-such-flag', 'x').returncode, 2)
        self.assertEqual(self.cli('tail', 's', '--from', 'nonsense').returncode, 2)
        self.assertEqual(self.cli('streams', 'list', endpoint='http://127.0.0.1:%d' % _closed_port()).returncode, 6)
        for status, error, code in ((400, 'AccessDeniedException', 4),
                                    (403, 'UnrecognizedClientException', 4),
                                    (400, 'LimitExceededException', 5),
                                    (400, 'ProvisionedThroughputExceededException', 5),
                                    (500, 'InternalFailure', 1),
                                    (400, 'ResourceNotFoundException', 3),
                                    (400, 'ValidationException', 2)):
            fake = _FakeKinesis(status, error, 'injected ' + error)
            try:
                for args in (['streams', 'list'], ['put', 's', 'x'], ['tail', 's', '--no-follow']):
                    p = self.cli(*args, endpoint=fake.endpoint, timeout=30)
                    self.assertEqual(p.returncode, code, (error, args, p.stderr))
                    self.assertIn(b'injected ' + error.encode(), p.stderr)
            finally:
                fake.close()

    def test_endpoint_from_flag_then_environment(self):
        dead = 'http://127.0.0.1:%d' % _closed_port()
        live = self.server.endpoint
        listed = lambda env, **kw: self.cli('streams', 'list', endpoint=False, env=env, **kw)
        self.assertEqual(listed({'AWS_ENDPOINT_URL_KINESIS': live, 'AWS_ENDPOINT_URL': dead}).returncode, 0)
        self.assertEqual(listed({'AWS_ENDPOINT_URL_KINESIS': dead, 'AWS_ENDPOINT_URL': live}).returncode, 6)
        self.assertEqual(listed({'AWS_ENDPOINT_URL': live}).returncode, 0)
        self.assertEqual(listed({'AWS_ENDPOINT_URL': dead}).returncode, 6)
        # the flag wins over both
        p = self.cli('streams', 'list', endpoint=live, env={'AWS_ENDPOINT_URL_KINESIS': dead, 'AWS_ENDPOINT_URL': dead})
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_cinesis_copied_alone_runs_put_and_tail(self):
        tmp = tempfile.mkdtemp(prefix='cinesis-alone-')
        self.addCleanup(shutil.rmtree, tmp, True)
        alone = os.path.join(tmp, 'cinesis')
        shutil.copy2(h.binary_path(), alone)
        self.assertEqual(os.listdir(tmp), ['cinesis'])
        name = h.unique_name('cli-alone')
        self.ok('streams', 'create', name, binary=alone)
        self.ok('put', name, 'solo-1', 'solo-2', binary=alone)
        got = self.ok('tail', name, '--from', 'trim-horizon', '--no-follow', binary=alone).stdout.decode().split()
        self.assertEqual(sorted(got), ['solo-1', 'solo-2'])


class CliTlsTrust(unittest.TestCase):
    """The client commands against an https endpoint with a self-signed certificate: trusted
    through --ca-bundle, $AWS_CA_BUNDLE or the profile's ca_bundle (as the AWS CLI), or not
    checked with --no-verify-ssl; otherwise refused with a hint. The `cinesis` binary carries
    OpenSSL statically (the server side here) while its client loads libcurl, which brings
    the shared OpenSSL: both run in one process in these commands."""

    CERT_RE = re.compile(r'^cinesis tls certificate (?P<path>\S+)\s*$')

    @classmethod
    def setUpClass(cls):
        cls.server = h.CinesisServer('--tls-self-signed').start()
        cls.cert = None
        for line in cls.server.stdout_lines:
            m = cls.CERT_RE.match(line)
            if m:
                cls.cert = m.group('path')
        assert cls.cert, cls.server.stdout_lines
        cls.https = 'https://127.0.0.1:%d' % cls.server.port
        cls.tmp = tempfile.mkdtemp(prefix='cinesis-cli-tls-')

    @classmethod
    def tearDownClass(cls):
        h.stop_server_checked(cls.server)
        cls.server.cleanup_files()
        shutil.rmtree(cls.tmp, True)

    def cli(self, *args, env=None):
        e = dict(os.environ)
        for k in ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE',
                  'AWS_CA_BUNDLE', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_KINESIS'):
            e.pop(k, None)
        e['AWS_SHARED_CREDENTIALS_FILE'] = e['AWS_CONFIG_FILE'] = os.devnull
        e.update(env or {})
        return subprocess.run([h.binary_path()] + list(args) + ['--endpoint', self.https],
                              capture_output=True, env=e, timeout=120)

    def test_untrusted_certificate_is_refused_with_a_hint(self):
        p = self.cli('streams', 'list')
        self.assertEqual(p.returncode, 6, p.stderr)
        self.assertIn(b'--ca-bundle', p.stderr)
        self.assertIn(b'--no-verify-ssl', p.stderr)

    def test_ca_bundle_flag_environment_and_profile(self):
        name = h.unique_name('cli-tls')
        p = self.cli('streams', 'create', name, '--ca-bundle', self.cert)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.cli('put', name, 'tls-1', 'tls-2', env={'AWS_CA_BUNDLE': self.cert})
        self.assertEqual(p.returncode, 0, p.stderr)
        config = os.path.join(self.tmp, 'config')
        with open(config, 'w') as f:
            f.write('[profile tls]\nca_bundle = %s\n' % self.cert)
        p = self.cli('tail', name, '--from', 'trim-horizon', '--no-follow',
                     env={'AWS_CONFIG_FILE': config, 'AWS_PROFILE': 'tls'})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(p.stdout.decode().split()), ['tls-1', 'tls-2'])

    def test_no_verify_ssl_skips_the_check(self):
        p = self.cli('streams', 'list', '--no-verify-ssl')
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_unreadable_ca_bundle_is_named(self):
        missing = os.path.join(self.tmp, 'missing.pem')
        p = self.cli('streams', 'list', '--ca-bundle', missing)
        self.assertEqual(p.returncode, 2, p.stderr)
        p = self.cli('streams', 'list', env={'AWS_CA_BUNDLE': missing})
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b'$AWS_CA_BUNDLE: cannot read the CA bundle', p.stderr)


if __name__ == '__main__':
    unittest.main()
