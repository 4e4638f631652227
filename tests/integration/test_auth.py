"""Signature verification: `cinesis serve --auth sigv4` (issue 17 item 5).

Each error text of --auth is checked exactly, over HTTP/1.1 and HTTP/2, JSON and CBOR, and
through the clients users run: boto3, the AWS CLI, the AWS SDK for JavaScript v3 (HTTP/2,
SubscribeToShard included), botocore's SubscribeToShard over HTTP/1.1 and the cinesis client
library (`cinesis streams`). The raw requests are signed by an independent SigV4
implementation below (hashlib/hmac), which also computes the canonical request and string to
sign the server must echo. Expected texts: /work/shared/reference/kinesis-behaviour.md §1,
sigv4.md, and docs/security.md "Signature verification".
"""
import datetime
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import botocore.exceptions

from . import harness as h
from .test_cbor import cbor_dumps, cbor_loads

SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'  # the harness's boto3/CLI secret
SESSION_KEY, SESSION_SECRET, SESSION_TOKEN = 'AKIDSESSION', 'sess/secret+1', 'TOKEN-123=='
FILE_KEY, FILE_SECRET = 'AKIDFILE', 'file-secret'
ENV_KEY, ENV_SECRET = 'AKIDENV', 'env-secret'
CBOR_CT = 'application/x-amz-cbor-1.1'

MISMATCH = ('The request signature we calculated does not match the signature you provided. Check your '
            'AWS Secret Access Key and signing method. Consult the service documentation for details.')
UNRECOGNIZED = 'The security token included in the request is invalid.'

CURL = shutil.which('curl')
NODE = shutil.which('node')
PEERS = os.path.join(h.REPO_ROOT, 'tests', 'peers')
HAVE_SDK = bool(NODE) and os.path.isdir(os.path.join(PEERS, 'node_modules', '@aws-sdk', 'client-kinesis'))
CINESIS = h.binary_path()


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def hmac256(key, msg):
    return hmac.new(key, msg.encode('utf-8'), hashlib.sha256).digest()


def sign(host, headers, body, key='AKIDEXAMPLE', secret=SECRET, when=None, token=None, region=h.REGION,
         service='kinesis'):
    """SigV4 for POST / (every header given plus host signed). Returns (headers to send without
    Host, canonical request, string to sign)."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    amz = when.strftime('%Y%m%dT%H%M%SZ')
    headers = list(headers) + [('X-Amz-Date', amz)]
    if token is not None:
        headers.append(('X-Amz-Security-Token', token))
    canon = sorted([(k.lower(), ' '.join(v.split())) for k, v in headers] + [('host', host)])
    signed = ';'.join(k for k, _ in canon)
    creq = '\n'.join(['POST', '/', ''] + ['%s:%s' % kv for kv in canon] + ['', signed, sha256(body)])
    scope = '%s/%s/%s/aws4_request' % (amz[:8], region, service)
    sts = '\n'.join(['AWS4-HMAC-SHA256', amz, scope, sha256(creq.encode('utf-8'))])
    k = hmac256(('AWS4' + secret).encode('utf-8'), amz[:8])
    for part in (region, service, 'aws4_request'):
        k = hmac256(k, part)
    sig = hmac.new(k, sts.encode('utf-8'), hashlib.sha256).hexdigest()
    headers.append(('Authorization', 'AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s'
                    % (key, scope, signed, sig)))
    return headers, creq, sts


def echo(creq, sts):
    return ("%s\n\nThe Canonical String for this request should have been\n'%s'\n\n"
            "The String-to-Sign should have been\n'%s'\n" % (MISMATCH, creq, sts))


def json_headers(op):
    return [('Content-Type', h.JSON_CT), ('X-Amz-Target', '%s.%s' % (h.TARGET_PREFIX, op))]


def start_auth_server(example_secret=SECRET):
    """A server verifying signatures: the harness's key by flag, a session key by flag, a
    key from a credentials file and one from the environment."""
    creds = tempfile.NamedTemporaryFile('w', prefix='cinesis-creds-', delete=False)
    creds.write('[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n\n'
                '# a comment\n[other]\naws_access_key_id=AKIDOTHER\naws_secret_access_key=o\n'
                % (FILE_KEY, FILE_SECRET))
    creds.close()
    saved = {k: os.environ.get(k) for k in ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN')}
    os.environ.update(AWS_ACCESS_KEY_ID=ENV_KEY, AWS_SECRET_ACCESS_KEY=ENV_SECRET)
    os.environ.pop('AWS_SESSION_TOKEN', None)
    try:
        srv = h.CinesisServer('--auth', 'sigv4', '--auth-key', 'AKIDEXAMPLE:' + example_secret,
                              '--auth-key', '%s:%s:%s' % (SESSION_KEY, SESSION_SECRET, SESSION_TOKEN),
                              '--auth-credentials-file', creds.name).start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        os.unlink(creds.name)
    return srv


def setUpModule():
    AuthTest.server = start_auth_server()


def tearDownModule():
    if AuthTest.server is not None:
        h.close_clients(AuthTest.server.endpoint)
        h.stop_server_checked(AuthTest.server)


class AuthTest(h.ServerTestCase):
    @property
    def host(self):
        return '%s:%d' % (self.server.host, self.server.port)

    def raw(self, headers, body):
        return h.raw_request(self.server, 'POST', '/', headers, body)

    def assert_error(self, resp, type_, message, status=400):
        self.assertEqual(resp.status, status, resp)
        self.assertEqual(resp.json(), {'__type': type_, 'message': message})

    def boto(self, key='AKIDEXAMPLE', secret=SECRET, token=None):
        s = h.make_session()
        s._session.set_credentials(key, secret, token)
        return s.client('kinesis', endpoint_url=self.server.endpoint,
                        config=h.Config(retries={'max_attempts': 0}, connect_timeout=5, read_timeout=30))

    # -- raw HTTP/1.1, JSON ------------------------------------------------------------------
    def test_right_signature_passes(self):
        body = b'{}'
        headers, _, _ = sign(self.host, json_headers('ListStreams'), body)
        r = self.raw(headers, body)
        self.assertEqual(r.status, 200, r)
        self.assertIn('StreamNames', r.json())

    def test_wrong_secret_echoes_canonical_request(self):
        body = b'{"Limit": 5}'
        headers, creq, sts = sign(self.host, json_headers('ListStreams'), body, secret='not-the-secret')
        self.assert_error(self.raw(headers, body), 'InvalidSignatureException', echo(creq, sts))

    def test_tampered_body_fails(self):
        headers, creq, sts = sign(self.host, json_headers('ListStreams'), b'{}')
        body = b'{"Limit": 1}'
        creq = creq[:creq.rfind('\n') + 1] + sha256(body)
        sts = sts[:sts.rfind('\n') + 1] + sha256(creq.encode())
        self.assert_error(self.raw(headers, body), 'InvalidSignatureException', echo(creq, sts))

    def test_no_signature(self):
        r = self.raw(json_headers('ListStreams'), b'{}')
        self.assert_error(r, 'MissingAuthenticationTokenException', 'Missing Authentication Token')

    def test_incomplete_signature(self):
        auth = 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/kinesis/aws4_request'
        r = self.raw(json_headers('ListStreams') + [('Authorization', auth)], b'{}')
        self.assert_error(r, 'IncompleteSignatureException',
                          "Authorization header requires 'Signature' parameter. Authorization header requires "
                          "'SignedHeaders' parameter. Authorization header requires existence of either a "
                          "'X-Amz-Date' or a 'Date' header. Authorization=" + auth)

    def test_expired(self):
        signed_at = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=10)
        headers, _, _ = sign(self.host, json_headers('ListStreams'), b'{}', when=signed_at)
        r = self.raw(headers, b'{}')
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json()['__type'], 'InvalidSignatureException')
        m = re.fullmatch(r'Signature expired: (\d{8}T\d{6}Z) is now earlier than (\d{8}T\d{6}Z) '
                         r'\((\d{8}T\d{6}Z) - 5 min\.\)', r.json()['message'])
        self.assertIsNotNone(m, r.json()['message'])
        parse = lambda s: datetime.datetime.strptime(s, '%Y%m%dT%H%M%SZ').replace(tzinfo=datetime.timezone.utc)
        self.assertEqual(m.group(1), signed_at.strftime('%Y%m%dT%H%M%SZ'))
        self.assertEqual(parse(m.group(3)) - parse(m.group(2)), datetime.timedelta(minutes=5))
        self.assertLess(abs((parse(m.group(3)) - datetime.datetime.now(datetime.timezone.utc)).total_seconds()), 60)

    def test_not_yet_current(self):
        signed_at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=10)
        headers, _, _ = sign(self.host, json_headers('ListStreams'), b'{}', when=signed_at)
        r = self.raw(headers, b'{}')
        self.assertEqual(r.json()['__type'], 'InvalidSignatureException', r)
        self.assertRegex(r.json()['message'],
                         r'^Signature not yet current: %s is still later than \d{8}T\d{6}Z '
                         r'\(\d{8}T\d{6}Z \+ 5 min\.\)$' % signed_at.strftime('%Y%m%dT%H%M%SZ'))

    def test_within_skew_passes(self):
        signed_at = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=4)
        headers, _, _ = sign(self.host, json_headers('ListStreams'), b'{}', when=signed_at)
        self.assertEqual(self.raw(headers, b'{}').status, 200)

    def test_unknown_key(self):
        headers, _, _ = sign(self.host, json_headers('ListStreams'), b'{}', key='AKIDNOBODY')
        self.assert_error(self.raw(headers, b'{}'), 'UnrecognizedClientException', UNRECOGNIZED)

    def test_session_tokens(self):
        def call(token, key=SESSION_KEY, secret=SESSION_SECRET):
            headers, _, _ = sign(self.host, json_headers('ListStreams'), b'{}', key=key, secret=secret, token=token)
            return self.raw(headers, b'{}')
        self.assertEqual(call(SESSION_TOKEN).status, 200)
        for token in (None, 'TOKEN-124==', SESSION_TOKEN + 'x'):
            self.assert_error(call(token), 'UnrecognizedClientException', UNRECOGNIZED)
        # A long-term key does not take a token.
        self.assert_error(call('T', key='AKIDEXAMPLE', secret=SECRET), 'UnrecognizedClientException', UNRECOGNIZED)

    def test_wrong_region_and_service(self):
        headers, _, _ = sign(self.host, json_headers('ListStreams'), b'{}', region='eu-west-1')
        self.assert_error(self.raw(headers, b'{}'), 'InvalidSignatureException',
                          "Credential should be scoped to a valid region, not 'eu-west-1'. ")
        headers, _, _ = sign(self.host, json_headers('ListStreams'), b'{}', service='dynamodb')
        self.assert_error(self.raw(headers, b'{}'), 'InvalidSignatureException',
                          "Credential should be scoped to correct service: 'kinesis'. ")

    def test_keys_from_file_and_environment(self):
        for key, secret in ((FILE_KEY, FILE_SECRET), ('AKIDOTHER', 'o'), (ENV_KEY, ENV_SECRET)):
            headers, _, _ = sign(self.host, json_headers('ListStreams'), b'{}', key=key, secret=secret)
            self.assertEqual(self.raw(headers, b'{}').status, 200, key)

    # -- CBOR ----------------------------------------------------------------------------------
    def test_cbor(self):
        body = cbor_dumps({})
        cbor = [('Content-Type', CBOR_CT), ('X-Amz-Target', '%s.ListStreams' % h.TARGET_PREFIX)]
        headers, _, _ = sign(self.host, cbor, body)
        r = self.raw(headers, body)
        self.assertEqual(r.status, 200, r)
        self.assertIn('StreamNames', cbor_loads(r.body))
        headers, creq, sts = sign(self.host, cbor, body, secret='wrong')
        r = self.raw(headers, body)
        self.assertEqual(r.status, 400)
        self.assertEqual(r.header('Content-Type'), CBOR_CT)
        self.assertEqual(cbor_loads(r.body), {'__type': 'InvalidSignatureException', 'message': echo(creq, sts)})
        headers, _, _ = sign(self.host, cbor, body, key='AKIDNOBODY')
        self.assertEqual(cbor_loads(self.raw(headers, body).body),
                         {'__type': 'UnrecognizedClientException', 'message': UNRECOGNIZED})

    # -- HTTP/2 (h2c, prior knowledge) ------------------------------------------------------------
    def curl_h2(self, headers, body):
        cmd = [CURL, '-sS', '-v', '--http2-prior-knowledge', '--max-time', '20', '-X', 'POST',
               self.server.endpoint + '/', '--data-binary', '@-', '-H', 'Expect:']
        for k, v in headers:
            cmd += ['-H', '%s: %s' % (k, v)]
        p = subprocess.run(cmd, input=body, capture_output=True, timeout=30, env=dict(os.environ, NO_PROXY='*'))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stderr.decode(), r'(?m)^< HTTP/2 ')
        return json.loads(p.stdout)

    @unittest.skipUnless(CURL, 'curl not installed')
    def test_http2(self):
        headers, _, _ = sign(self.host, json_headers('ListStreams'), b'{}')
        self.assertIn('StreamNames', self.curl_h2(headers, b'{}'))
        headers, creq, sts = sign(self.host, json_headers('ListStreams'), b'{}', secret='wrong')
        self.assertEqual(self.curl_h2(headers, b'{}'), {'__type': 'InvalidSignatureException', 'message': echo(creq, sts)})
        self.assertEqual(self.curl_h2(json_headers('ListStreams'), b'{}'),
                         {'__type': 'MissingAuthenticationTokenException', 'message': 'Missing Authentication Token'})

    @unittest.skipUnless(CURL, 'curl not installed')
    def test_curl_own_signer_http1_and_http2(self):
        """curl's --aws-sigv4 (another SigV4 implementation) over both protocols."""
        for proto in ('--http1.1', '--http2-prior-knowledge'):
            for secret, ok in ((SECRET, True), ('wrong', False)):
                p = subprocess.run([CURL, '-sS', proto, '--max-time', '20', '--aws-sigv4', 'aws:amz:us-east-1:kinesis',
                                    '--user', 'AKIDEXAMPLE:' + secret, '-H', 'Content-Type: ' + h.JSON_CT,
                                    '-H', 'X-Amz-Target: %s.ListStreams' % h.TARGET_PREFIX, '--data', '{}',
                                    self.server.endpoint + '/'], capture_output=True, timeout=30,
                                   env=dict(os.environ, NO_PROXY='*'))
                out = json.loads(p.stdout)
                if ok:
                    self.assertIn('StreamNames', out, (proto, out))
                else:
                    self.assertEqual(out['__type'], 'InvalidSignatureException', (proto, out))
                    self.assertTrue(out['message'].startswith(MISMATCH + '\n\n'), out)

    # -- boto3 -------------------------------------------------------------------------------------
    def test_boto3(self):
        c = self.boto()
        name = h.unique_name('auth')
        c.create_stream(StreamName=name, ShardCount=1)
        h.wait_active(c, name)
        c.put_record(StreamName=name, Data=b'x', PartitionKey='k')
        self.assertIn(name, c.list_streams()['StreamNames'])
        c.delete_stream(StreamName=name)

        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.boto(secret='wrong').list_streams()
        code, message = h.error_of(cm.exception)
        self.assertEqual(code, 'InvalidSignatureException')
        self.assertEqual(cm.exception.response['ResponseMetadata']['HTTPStatusCode'], 400)
        # The echo names exactly what botocore signed.
        m = re.fullmatch(re.escape(MISMATCH) + r"\n\nThe Canonical String for this request should have been\n'(.*)'\n\n"
                         r"The String-to-Sign should have been\n'(.*)'\n", message, re.S)
        self.assertIsNotNone(m, message)
        creq, sts = m.group(1), m.group(2)
        lines = creq.split('\n')
        self.assertEqual(lines[:3], ['POST', '/', ''])
        self.assertIn('host:' + self.host, lines)
        self.assertIn('x-amz-target:Kinesis_20131202.ListStreams', lines)
        self.assertEqual(lines[-2], 'content-type;host;x-amz-date;x-amz-target')
        self.assertEqual(lines[-1], sha256(b'{}'))
        self.assertEqual(sts.split('\n')[3], sha256(creq.encode()))

    def test_boto3_session_token(self):
        self.assertIn('StreamNames', self.boto(SESSION_KEY, SESSION_SECRET, SESSION_TOKEN).list_streams())
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.boto(SESSION_KEY, SESSION_SECRET, 'wrong-token').list_streams()
        self.assertEqual(h.error_of(cm.exception), ('UnrecognizedClientException', UNRECOGNIZED))

    def test_boto3_subscribe_to_shard_http1(self):
        """botocore's SubscribeToShard: an HTTP/1.1 event stream, signed."""
        c = self.boto()
        name = h.unique_name('authsub')
        c.create_stream(StreamName=name, ShardCount=1)
        self.addCleanup(c.delete_stream, StreamName=name, EnforceConsumerDeletion=True)
        h.wait_active(c, name)
        arn = c.describe_stream_summary(StreamName=name)['StreamDescriptionSummary']['StreamARN']
        consumer = c.register_stream_consumer(StreamARN=arn, ConsumerName='c')['Consumer']['ConsumerARN']
        deadline = time.time() + 10
        while c.describe_stream_consumer(ConsumerARN=consumer)['ConsumerDescription']['ConsumerStatus'] != 'ACTIVE':
            self.assertLess(time.time(), deadline)
            time.sleep(0.05)
        c.put_record(StreamName=name, Data=b'signed', PartitionKey='k')
        resp = c.subscribe_to_shard(ConsumerARN=consumer, ShardId='shardId-000000000000',
                                    StartingPosition={'Type': 'TRIM_HORIZON'})
        got = []
        for ev in resp['EventStream']:
            got += [bytes(r['Data']) for r in ev['SubscribeToShardEvent']['Records']]
            if got:
                break
        resp['EventStream'].close()
        self.assertEqual(got, [b'signed'])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.boto(secret='wrong').subscribe_to_shard(ConsumerARN=consumer, ShardId='shardId-000000000000',
                                                         StartingPosition={'Type': 'TRIM_HORIZON'})
        code, message = h.error_of(cm.exception)
        self.assertEqual(code, 'InvalidSignatureException')
        self.assertTrue(message.startswith(MISMATCH), message)

    # -- AWS CLI -----------------------------------------------------------------------------------
    def test_aws_cli(self):
        cli = h.CliRunner(self.server.endpoint)
        self.addCleanup(cli.cleanup)
        p = cli.run('list-streams')
        self.assertEqual(p.returncode, 0, p.stderr)
        cli.env['AWS_SECRET_ACCESS_KEY'] = 'wrong'
        p = cli.run('list-streams')
        self.assertNotEqual(p.returncode, 0)
        self.assertRegex(p.stderr, r'An error occurred \(InvalidSignatureException\) when calling the ListStreams '
                         r'operation( \(reached max retries: 0\))?: ' + re.escape(MISMATCH))
        cli.env['AWS_ACCESS_KEY_ID'] = 'AKIDNOBODY'
        p = cli.run('list-streams')
        self.assertRegex(p.stderr, r'An error occurred \(UnrecognizedClientException\) when calling the ListStreams '
                         r'operation( \(reached max retries: 0\))?: ' + re.escape(UNRECOGNIZED))

    # -- the cinesis client library (libcinesis over libcurl) ----------------------------------------
    def cinesis_cli(self, key, secret, *args):
        env = dict(os.environ, AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret, AWS_REGION=h.REGION,
                   AWS_CONFIG_FILE='/nonexistent', AWS_SHARED_CREDENTIALS_FILE='/nonexistent')
        env.pop('AWS_SESSION_TOKEN', None)
        return subprocess.run([CINESIS, 'streams', 'list', '--endpoint', self.server.endpoint] + list(args),
                              capture_output=True, text=True, timeout=60, env=env)

    def test_cinesis_client_library(self):
        p = self.cinesis_cli('AKIDEXAMPLE', SECRET)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.cinesis_cli('AKIDEXAMPLE', 'wrong')
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('InvalidSignatureException', p.stderr)
        self.assertIn(MISMATCH, p.stderr)


@unittest.skipUnless(HAVE_SDK, 'node or @aws-sdk/client-kinesis missing (npm install --prefix tests/peers)')
class SdkJsV3Test(h.ServerTestCase):
    """The AWS SDK for JavaScript v3 over HTTP/2 (its default handler)."""

    @classmethod
    def setUpClass(cls):
        cls.server = start_auth_server(example_secret='secret')  # sdk_js_v3.mjs's key

    @classmethod
    def tearDownClass(cls):
        h.stop_server_checked(cls.server)

    def node(self, script, *args):  # exit 0 and the last JSON line
        env = dict(os.environ, NO_PROXY='*', no_proxy='*')
        for k in ('HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'):
            env.pop(k, None)
        p = subprocess.run([NODE, '--no-warnings', os.path.join(PEERS, script)] + list(args),
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=120, cwd=PEERS, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout.decode().strip().splitlines()[-1])

    def test_right_and_wrong_secret(self):
        out = self.node('sdk_js_v3_auth.mjs', self.server.endpoint, 'AKIDEXAMPLE', 'secret')
        self.assertEqual((out['ok'], out['handler']), (True, 'NodeHttp2Handler'), out)
        out = self.node('sdk_js_v3_auth.mjs', self.server.endpoint, 'AKIDEXAMPLE', 'wrong')
        self.assertEqual((out['ok'], out['name'], out['status']), (False, 'InvalidSignatureException', 400), out)
        self.assertTrue(out['message'].startswith(MISMATCH + '\n\nThe Canonical String'), out)
        out = self.node('sdk_js_v3_auth.mjs', self.server.endpoint, SESSION_KEY, SESSION_SECRET, SESSION_TOKEN)
        self.assertTrue(out['ok'], out)
        out = self.node('sdk_js_v3_auth.mjs', self.server.endpoint, SESSION_KEY, SESSION_SECRET, 'bad')
        self.assertEqual((out['name'], out['message']), ('UnrecognizedClientException', UNRECOGNIZED), out)

    def test_full_sdk_run_with_subscribe_to_shard(self):
        """tests/peers/sdk_js_v3.mjs (create, put, get, SubscribeToShard over HTTP/2, delete), its
        key AKIDEXAMPLE:secret verified; the same run with that key unknown fails."""
        out = self.node('sdk_js_v3.mjs', self.server.endpoint)
        self.assertTrue(out, out)
        # The module's server knows AKIDEXAMPLE with another secret.
        p = subprocess.run([NODE, '--no-warnings', os.path.join(PEERS, 'sdk_js_v3.mjs'), AuthTest.server.endpoint],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=120, cwd=PEERS,
                           env=dict(os.environ, NO_PROXY='*', no_proxy='*'))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('InvalidSignatureException', (p.stdout + p.stderr).decode())


class StartupTest(unittest.TestCase):
    def run_serve(self, *args, env_keys=False):
        env = dict(os.environ)
        for k in ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'):
            env.pop(k, None)
        return subprocess.run([CINESIS, 'serve', '--in-memory', '--port', '0'] + list(args),
                              capture_output=True, text=True, timeout=30, env=env)

    def test_sigv4_without_keys_refuses_to_start(self):
        p = self.run_serve('--auth', 'sigv4')
        self.assertEqual(p.returncode, 1)
        self.assertIn('--auth sigv4 needs at least one access key', p.stderr)

    def test_malformed_key(self):
        for bad in ('AKID', 'AKID:', ':secret', 'AKID:s:', 'AKID:s:t:u'):
            p = self.run_serve('--auth', 'sigv4', '--auth-key', bad)
            self.assertEqual(p.returncode, 1, bad)
            self.assertIn('--auth-key: expected ID:SECRET or ID:SECRET:SESSION_TOKEN', p.stderr, bad)

    def test_keys_without_auth(self):
        p = self.run_serve('--auth-key', 'A:B')
        self.assertEqual(p.returncode, 1)
        self.assertIn('--auth-key and --auth-credentials-file need --auth sigv4', p.stderr)

    def test_missing_credentials_file(self):
        p = self.run_serve('--auth', 'sigv4', '--auth-credentials-file', '/nonexistent/credentials')
        self.assertEqual(p.returncode, 1)
        self.assertIn('--auth-credentials-file: ', p.stderr)


class DefaultOffTest(h.ServerTestCase):
    """Without --auth the signature is not checked (local development)."""

    def test_bad_signature_accepted_by_default(self):
        srv = h.CinesisServer().start()
        self.addCleanup(h.stop_server_checked, srv)
        host = '%s:%d' % (srv.host, srv.port)
        headers, _, _ = sign(host, json_headers('ListStreams'), b'{}', secret='wrong')
        self.assertEqual(h.raw_request(srv, 'POST', '/', headers, b'{}').status, 200)


if __name__ == '__main__':
    unittest.main()
