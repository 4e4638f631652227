"""`cinesis streams | put | tail` against a cinesis server (the commands run cinesis-client).

Run:  /usr/bin/python3 -m unittest -v tests/integration/test_cinesis_cli.py   (from the repo root)
"""

import base64
import json
import os
import subprocess
import unittest

from . import harness as h

SERVER = None


def setUpModule():
    global SERVER
    SERVER = h.CinesisServer().start()
    CinesisCli.server = SERVER


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

        self.assertEqual(self.run_cli('streams', 'delete', name).stdout.decode().strip(), '%s deleting' % name)

    def test_errors_are_reported_with_the_service_text(self):
        missing = h.unique_name('cli-missing')
        p = self.run_cli('streams', 'describe', missing, ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(('ResourceNotFoundException: Stream %s under account %s not found.'
                       % (missing, h.ACCOUNT_ID)).encode(), p.stderr)
        p = self.run_cli('put', missing, 'x', ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b'ResourceNotFoundException', p.stderr)


if __name__ == '__main__':
    unittest.main()
