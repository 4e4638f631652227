"""`cinesis config` (issue 20): region, endpoint and credential source as a client command would
resolve them, against loopback fakes of the container credentials endpoint and of IMDS; no secret
is ever printed.

Run:  CINESIS_BIN=build/debug/apps/cinesis/cinesis /usr/bin/python3 -m unittest -v tests/integration/test_config_command.py
"""

import datetime
import http.server
import json
import os
import subprocess
import tempfile
import threading
import unittest

from . import harness as h

SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRET'
TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLETOKEN'


def expiration(minutes):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=minutes)
    return t.strftime('%Y-%m-%dT%H:%M:%SZ')


class _Fake(http.server.BaseHTTPRequestHandler):
    """Container endpoint (GET with Authorization) and IMDSv2 (PUT token, then GETs)."""
    seen = []

    def log_message(self, *args):
        pass

    def _reply(self, status, body, ctype='application/json'):
        data = body.encode()
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        _Fake.seen.append(('PUT', self.path, dict(self.headers)))
        if self.path == '/latest/api/token' and self.headers.get('X-aws-ec2-metadata-token-ttl-seconds'):
            self._reply(200, 'imds-token', 'text/plain')
        else:
            self._reply(400, '')

    def do_GET(self):
        _Fake.seen.append(('GET', self.path, dict(self.headers)))
        creds = json.dumps({'Code': 'Success', 'AccessKeyId': 'ASIAFAKECONTAINER1', 'SecretAccessKey': SECRET,
                            'Token': TOKEN, 'Expiration': expiration(60)})
        if self.path == '/creds':
            if self.headers.get('Authorization') != 'pod-identity-token':
                return self._reply(401, '{"message":"bad token"}')
            return self._reply(200, creds)
        if self.headers.get('X-aws-ec2-metadata-token') != 'imds-token':
            return self._reply(401, '')
        if self.path == '/latest/meta-data/placement/region':
            return self._reply(200, 'ap-southeast-2', 'text/plain')
        if self.path == '/latest/meta-data/iam/security-credentials/':
            return self._reply(200, 'app-role', 'text/plain')
        if self.path == '/latest/meta-data/iam/security-credentials/app-role':
            return self._reply(200, creds.replace('ASIAFAKECONTAINER1', 'ASIAFAKEIMDS00001'))
        self._reply(404, '')


class ConfigCommand(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Fake)
        cls.url = 'http://127.0.0.1:%d' % cls.httpd.server_address[1]
        cls.thread = threading.Thread(target=cls.httpd.serve_forever, daemon=True)
        cls.thread.start()

    @classmethod
    def tearDownClass(cls):
        cls.httpd.shutdown()
        cls.httpd.server_close()
        cls.thread.join(timeout=10)

    def run_config(self, env_extra, *args):
        home = tempfile.mkdtemp(prefix='cinesis-config-home-')
        env = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
        env.update({'HOME': home, 'AWS_EC2_METADATA_DISABLED': 'true'})
        env.update(env_extra)
        p = subprocess.run([h.binary_path(), 'config'] + list(args), capture_output=True, env=env,
                           timeout=60, universal_newlines=True)
        for stream in (p.stdout, p.stderr):
            self.assertNotIn(SECRET, stream)
            self.assertNotIn(TOKEN, stream)
        return p

    def test_container_credentials_for_aws_with_fips(self):
        token_file = os.path.join(tempfile.mkdtemp(), 'token')
        with open(token_file, 'w') as f:
            f.write('pod-identity-token\n')
        p = self.run_config({'AWS_CONTAINER_CREDENTIALS_FULL_URI': self.url + '/creds',
                             'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE': token_file,
                             'AWS_USE_FIPS_ENDPOINT': 'true', 'AWS_REGION': 'us-west-2'},
                            '--endpoint', '', '--debug')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('region:      us-west-2 (AWS_REGION)', p.stdout)
        self.assertIn('endpoint:    https://kinesis-fips.us-west-2.amazonaws.com', p.stdout)
        self.assertIn('credentials: container credentials', p.stdout)
        self.assertIn('access key id: ASIA' + '*' * (len('ASIAFAKECONTAINER1') - 4), p.stdout)
        self.assertIn('session token: yes', p.stdout)
        self.assertRegex(p.stdout, r'expires:\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in 5\d min\)')
        self.assertIn('debug: client: credentials from container credentials', p.stderr)

    def test_region_and_credentials_from_imds_only_for_aws(self):
        p = self.run_config({'AWS_EC2_METADATA_DISABLED': '',
                             'AWS_EC2_METADATA_SERVICE_ENDPOINT': self.url}, '--endpoint', '')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('region:      ap-southeast-2 (EC2 instance metadata)', p.stdout)
        self.assertIn('endpoint:    https://kinesis.ap-southeast-2.amazonaws.com', p.stdout)
        self.assertIn('credentials: EC2 instance metadata', p.stdout)
        self.assertIn('access key id: ASIA*************', p.stdout)

    def test_no_credentials_for_aws_is_exit_4_naming_every_source(self):
        p = self.run_config({}, '--endpoint', '', '--region', 'cn-north-1')
        self.assertEqual(p.returncode, 4, p.stdout + p.stderr)
        self.assertIn('endpoint:    https://kinesis.cn-north-1.amazonaws.com.cn', p.stdout)
        self.assertIn('credentials: none', p.stdout)
        for source in ('environment', 'web identity', 'profile "default"', 'container credentials',
                       'EC2 instance metadata'):
            self.assertIn(source, p.stderr)

    def test_local_server_needs_no_credentials(self):
        p = self.run_config({})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('endpoint:    http://127.0.0.1:4567 (the cinesis default: the local server, loopback)',
                      p.stdout)
        self.assertIn('credentials: dummy credentials (loopback endpoint)', p.stdout)


if __name__ == '__main__':
    unittest.main()
