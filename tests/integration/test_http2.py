"""HTTP/2 in the server: cleartext h2c (prior knowledge and `Upgrade: h2c`) and TLS with ALPN.

The AWS SDK for JavaScript v3 (default handler: NodeHttp2Handler, HTTP/2 only) runs a full
session (create, put, get, subscribe and decode events) over http:// and https://; curl
checks the protocol actually spoken; boto3 (HTTP/1.1) checks TLS without h2.
"""

import json
import os
import re
import shutil
import subprocess
import unittest

from . import harness

REPO = harness.REPO_ROOT
NODE = shutil.which('node')
CURL = shutil.which('curl')
PEERS = os.path.join(REPO, 'tests', 'peers')
SDK_SCRIPT = os.path.join(PEERS, 'sdk_js_v3.mjs')
SDK_PACKAGE = os.path.join(PEERS, 'node_modules', '@aws-sdk', 'client-kinesis')
HAVE_SDK = bool(NODE) and os.path.isdir(SDK_PACKAGE)
CERT_RE = re.compile(r'^cinesis tls certificate (?P<path>\S+)\s*$')

AUTH = ('AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/kinesis/aws4_request, '
        'SignedHeaders=host;x-amz-date;x-amz-target, Signature=0')


def curl_list_streams(url, *flags, cacert=None):
    """ListStreams with curl -v; returns (http version seen, status, body)."""
    cmd = [CURL, '-sS', '-v', '--max-time', '20', '-X', 'POST', url,
           '-H', 'Content-Type: ' + harness.JSON_CT,
           '-H', 'X-Amz-Target: %s.ListStreams' % harness.TARGET_PREFIX,
           '-H', 'X-Amz-Date: 20240101T000000Z',
           '-H', 'Authorization: ' + AUTH,
           '--data', '{}'] + list(flags)
    if cacert:
        cmd += ['--cacert', cacert]
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=30,
                       env=dict(os.environ, NO_PROXY='*'))
    if p.returncode != 0:
        raise AssertionError('curl failed (%d): %s' % (p.returncode, p.stderr.decode('utf-8', 'replace')))
    err = p.stderr.decode('utf-8', 'replace')
    statuses = re.findall(r'^< (HTTP/[0-9.]+) ([0-9]{3})', err, re.M)
    return statuses, err, json.loads(p.stdout)


def run_sdk(endpoint, cert=None):
    env = dict(os.environ, NODE_PATH=os.path.join(PEERS, 'node_modules'), NO_PROXY='*', no_proxy='*')
    env.pop('HTTPS_PROXY', None)
    env.pop('https_proxy', None)
    env.pop('HTTP_PROXY', None)
    env.pop('http_proxy', None)
    if cert:
        env['NODE_EXTRA_CA_CERTS'] = cert
    p = subprocess.run([NODE, '--no-warnings', SDK_SCRIPT, endpoint], stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=120, cwd=PEERS, env=env)
    out = p.stdout.decode('utf-8', 'replace')
    if p.returncode != 0:
        raise AssertionError('sdk_js_v3.mjs failed (%d):\n%s\n%s' % (p.returncode, out, p.stderr.decode('utf-8', 'replace')))
    return json.loads(out.strip().splitlines()[-1])


class Http2CleartextTest(harness.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.CinesisServer().start()

    @classmethod
    def tearDownClass(cls):
        harness.stop_server_checked(cls.server)

    @unittest.skipUnless(CURL, 'curl not installed')
    def test_prior_knowledge(self):
        statuses, _, body = curl_list_streams(self.server.endpoint + '/', '--http2-prior-knowledge')
        self.assertEqual(statuses, [('HTTP/2', '200')])
        self.assertIn('StreamNames', body)

    @unittest.skipUnless(CURL, 'curl not installed')
    def test_upgrade_h2c(self):
        statuses, err, body = curl_list_streams(self.server.endpoint + '/', '--http2')
        self.assertEqual(statuses, [('HTTP/1.1', '101'), ('HTTP/2', '200')], err)
        self.assertIn('StreamNames', body)

    @unittest.skipUnless(CURL, 'curl not installed')
    def test_http11_still_works(self):
        statuses, _, body = curl_list_streams(self.server.endpoint + '/', '--http1.1')
        self.assertEqual(statuses, [('HTTP/1.1', '200')])
        self.assertIn('StreamNames', body)

    @unittest.skipUnless(HAVE_SDK, 'node or @aws-sdk/client-kinesis missing (npm install --prefix tests/peers)')
    def test_sdk_js_v3_h2c(self):
        r = run_sdk(self.server.endpoint)
        self.assertTrue(r['ok'])
        self.assertEqual(r['handler'], 'NodeHttp2Handler')
        self.assertGreaterEqual(r['subscribed'], 5)


class Http2TlsTest(harness.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.CinesisServer('--tls-self-signed', '--worker-threads', '2').start()
        cls.cert = None
        for line in cls.server.stdout_lines:
            m = CERT_RE.match(line.strip())
            if m:
                cls.cert = m.group('path')
        if not cls.cert or not os.path.isfile(cls.cert):
            raise AssertionError('no certificate printed: %r' % cls.server.stdout_lines)
        cls.url = 'https://127.0.0.1:%d' % cls.server.port

    @classmethod
    def tearDownClass(cls):
        harness.stop_server_checked(cls.server)
        harness.close_clients(cls.url)

    @unittest.skipUnless(CURL, 'curl not installed')
    def test_alpn_h2(self):
        statuses, err, body = curl_list_streams(self.url + '/', '--http2', cacert=self.cert)
        self.assertIn('ALPN: server accepted h2', err)
        self.assertEqual(statuses, [('HTTP/2', '200')])
        self.assertIn('StreamNames', body)

    @unittest.skipUnless(CURL, 'curl not installed')
    def test_alpn_http11(self):
        statuses, err, body = curl_list_streams(self.url + '/', '--http1.1', cacert=self.cert)
        self.assertEqual(statuses, [('HTTP/1.1', '200')], err)
        self.assertIn('StreamNames', body)

    def test_boto3_over_tls(self):
        client = harness.make_session().client(
            'kinesis', endpoint_url=self.url, verify=self.cert,
            config=harness.Config(retries={'max_attempts': 0}, connect_timeout=5, read_timeout=30))
        harness._CLIENTS.setdefault(self.url, []).append(client)
        name = harness.unique_name('tls')
        client.create_stream(StreamName=name, ShardCount=1)
        harness.wait_active(client, name)
        put = client.put_record(StreamName=name, PartitionKey='k', Data=b'\x00tls\xff')
        it = client.get_shard_iterator(StreamName=name, ShardId=put['ShardId'],
                                       ShardIteratorType='TRIM_HORIZON')['ShardIterator']
        recs = client.get_records(ShardIterator=it)['Records']
        self.assertEqual([r['Data'] for r in recs], [b'\x00tls\xff'])

    def test_untrusted_certificate_is_refused(self):
        # Sanity: the server really speaks TLS with its own certificate.
        if not CURL:
            self.skipTest('curl not installed')
        p = subprocess.run([CURL, '-sS', '--max-time', '10', self.url + '/'], capture_output=True, timeout=30,
                           env=dict(os.environ, NO_PROXY='*'), stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 60, p.stderr)  # peer certificate cannot be authenticated

    @unittest.skipUnless(HAVE_SDK, 'node or @aws-sdk/client-kinesis missing (npm install --prefix tests/peers)')
    def test_sdk_js_v3_tls(self):
        r = run_sdk(self.url, cert=self.cert)
        self.assertTrue(r['ok'])
        self.assertEqual(r['handler'], 'NodeHttp2Handler')
        self.assertGreaterEqual(r['subscribed'], 5)


if __name__ == '__main__':
    unittest.main()
