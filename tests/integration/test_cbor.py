"""The CBOR protocol variant (``application/x-amz-cbor-1.1``) over raw HTTP.

Run:  /usr/bin/python3 -m unittest -v tests/integration/test_cbor.py   (from the repo root)

Every operation except SubscribeToShard is sent as ``POST /`` with ``Content-Type:
application/x-amz-cbor-1.1``, ``X-Amz-Target: Kinesis_20131202.<Op>``, a (never verified) SigV4
Authorization header and a CBOR body; the CBOR responses are decoded by the small, strict RFC 8949
codec below (no third-party dependency).  Expectations come from
/work/shared/reference/kinesis-behaviour.md section 15 (and sections 2, 10-13, 16), i.e. from the
real AWS service and the Java SDKs that speak this protocol, not from the server under test:

* bodies are CBOR maps with the JSON member names; blobs (``Data``) are byte strings (major type 2);
* timestamps are tag 1 around an INTEGER number of epoch milliseconds, in requests and responses;
* errors are HTTP 400 CBOR maps ``{"__type": ..., "message": ...}`` (SerializationException: ``Message``)
  with the CBOR content type; a body that is not a CBOR map -> SerializationException without message;
  an empty body -> SerializationException (CBOR);
* indefinite-length maps/arrays/text/byte strings (as Jackson emits them) are accepted.

Where useful, values are compared with what the JSON 1.1 protocol returns for the same call.
"""

import base64
import io
import json
import os
import re
import struct
import time
import unittest

from . import harness as h

CBOR_CT = 'application/x-amz-cbor-1.1'
ACCT = h.ACCOUNT_ID
MAX = h.MAX_HASH_KEY
SEQ_PATTERN = re.compile(r'^(0|[1-9][0-9]{0,128})$')
KMS_KEY = 'alias/aws/kinesis'
NOW_TOLERANCE_MS = 60000     # "close to now"

SERVER = None


def setUpModule():
    global SERVER
    SERVER = h.CinesisServer().start()
    Base.server = SERVER


def tearDownModule():
    h.stop_server_checked(SERVER)


# ---------------------------------------------------------------------------
# A small, strict CBOR codec (RFC 8949)
# ---------------------------------------------------------------------------

class Tag(object):
    """A tagged item (major type 6)."""

    def __init__(self, tag, value):
        self.tag = tag
        self.value = value

    def __eq__(self, other):
        return isinstance(other, Tag) and (self.tag, self.value) == (other.tag, other.value)

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((self.tag, repr(self.value)))

    def __repr__(self):
        return 'Tag(%d, %r)' % (self.tag, self.value)


class Simple(object):
    """An unassigned simple value (major type 7)."""

    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        return isinstance(other, Simple) and self.value == other.value

    def __hash__(self):
        return hash(('simple', self.value))

    def __repr__(self):
        return 'Simple(%d)' % self.value


class Undefined(object):
    def __repr__(self):
        return 'undefined'


UNDEFINED = Undefined()


class Indef(object):
    """Encode as an indefinite-length item.

    * ``Indef(dict)``: ``bf key value ... ff`` (values encoded normally)
    * ``Indef(list)``: ``9f item ... ff``
    * ``Indef(chunks, 'text')``: ``7f <definite text chunk> ... ff``
    * ``Indef(chunks, 'bytes')``: ``5f <definite byte chunk> ... ff``
    """

    def __init__(self, value, kind=None):
        self.value = value
        self.kind = kind or ('map' if isinstance(value, dict) else 'array')

    def joined(self):
        if self.kind == 'text':
            return ''.join(self.value)
        if self.kind == 'bytes':
            return b''.join(self.value)
        return self.value


def ms(value):
    """A CBOR timestamp as the Java SDKs send it: tag 1 around integer epoch milliseconds."""
    return Tag(1, int(value))


def _head(major, n):
    if n < 24:
        return struct.pack('>B', (major << 5) | n)
    if n < 0x100:
        return struct.pack('>BB', (major << 5) | 24, n)
    if n < 0x10000:
        return struct.pack('>BH', (major << 5) | 25, n)
    if n < 0x100000000:
        return struct.pack('>BI', (major << 5) | 26, n)
    if n < 0x10000000000000000:
        return struct.pack('>BQ', (major << 5) | 27, n)
    raise ValueError('integer too large for a CBOR head: %r' % n)


def cbor_dumps(obj):
    out = io.BytesIO()
    _enc(obj, out)
    return out.getvalue()


def _enc(obj, out):
    if obj is None:
        out.write(b'\xf6')
    elif obj is UNDEFINED:
        out.write(b'\xf7')
    elif obj is True:
        out.write(b'\xf5')
    elif obj is False:
        out.write(b'\xf4')
    elif isinstance(obj, int):
        if obj >= 0:
            out.write(_head(0, obj))
        else:
            out.write(_head(1, -1 - obj))
    elif isinstance(obj, float):
        out.write(b'\xfb' + struct.pack('>d', obj))
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        b = bytes(obj)
        out.write(_head(2, len(b)))
        out.write(b)
    elif isinstance(obj, str):
        b = obj.encode('utf-8')
        out.write(_head(3, len(b)))
        out.write(b)
    elif isinstance(obj, (list, tuple)):
        out.write(_head(4, len(obj)))
        for item in obj:
            _enc(item, out)
    elif isinstance(obj, dict):
        out.write(_head(5, len(obj)))
        for k, v in obj.items():
            _enc(k, out)
            _enc(v, out)
    elif isinstance(obj, Tag):
        out.write(_head(6, obj.tag))
        _enc(obj.value, out)
    elif isinstance(obj, Simple):
        if obj.value < 24:
            out.write(struct.pack('>B', 0xe0 | obj.value))
        else:
            out.write(struct.pack('>BB', 0xf8, obj.value))
    elif isinstance(obj, Indef):
        if obj.kind == 'map':
            out.write(b'\xbf')
            for k, v in obj.value.items():
                _enc(k, out)
                _enc(v, out)
        elif obj.kind == 'array':
            out.write(b'\x9f')
            for item in obj.value:
                _enc(item, out)
        elif obj.kind == 'text':
            out.write(b'\x7f')
            for chunk in obj.value:
                _enc(str(chunk), out)
        elif obj.kind == 'bytes':
            out.write(b'\x5f')
            for chunk in obj.value:
                _enc(bytes(chunk), out)
        else:
            raise ValueError(obj.kind)
        out.write(b'\xff')
    else:
        raise TypeError('cannot CBOR-encode %r' % (obj,))


class CborDecodeError(ValueError):
    pass


_BREAK = object()


class _Decoder(object):
    def __init__(self, data):
        self.data = bytes(data)
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise CborDecodeError('truncated CBOR at offset %d (need %d bytes)' % (self.pos, n))
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def arg(self, info):
        if info < 24:
            return info
        if info == 24:
            return self.take(1)[0]
        if info == 25:
            return struct.unpack('>H', self.take(2))[0]
        if info == 26:
            return struct.unpack('>I', self.take(4))[0]
        if info == 27:
            return struct.unpack('>Q', self.take(8))[0]
        raise CborDecodeError('reserved additional info %d at offset %d' % (info, self.pos - 1))

    def item(self, allow_break=False):
        ib = self.take(1)[0]
        major, info = ib >> 5, ib & 31
        if ib == 0xff:
            if allow_break:
                return _BREAK
            raise CborDecodeError('unexpected break at offset %d' % (self.pos - 1))
        if major == 0:
            return self.arg(info)
        if major == 1:
            return -1 - self.arg(info)
        if major in (2, 3):
            if info == 31:
                chunks = []
                while True:
                    c = self.item(allow_break=True)
                    if c is _BREAK:
                        break
                    if major == 2 and not isinstance(c, bytes) or major == 3 and not isinstance(c, str):
                        raise CborDecodeError('bad chunk in indefinite-length string: %r' % (c,))
                    chunks.append(c)
                return b''.join(chunks) if major == 2 else ''.join(chunks)
            raw = self.take(self.arg(info))
            if major == 2:
                return raw
            try:
                return raw.decode('utf-8')
            except UnicodeDecodeError as e:
                raise CborDecodeError('invalid UTF-8 in text string: %s' % e)
        if major == 4:
            out = []
            if info == 31:
                while True:
                    v = self.item(allow_break=True)
                    if v is _BREAK:
                        return out
                    out.append(v)
            for _ in range(self.arg(info)):
                out.append(self.item())
            return out
        if major == 5:
            out = {}
            n = None if info == 31 else self.arg(info)
            i = 0
            while n is None or i < n:
                k = self.item(allow_break=n is None)
                if k is _BREAK:
                    break
                v = self.item()
                if isinstance(k, (list, dict)):
                    raise CborDecodeError('unhashable map key %r' % (k,))
                if k in out:
                    raise CborDecodeError('duplicate map key %r' % (k,))
                out[k] = v
                i += 1
            return out
        if major == 6:
            return Tag(self.arg(info), self.item())
        # major 7
        if info < 20:
            return Simple(info)
        if info == 20:
            return False
        if info == 21:
            return True
        if info == 22:
            return None
        if info == 23:
            return UNDEFINED
        if info == 24:
            return Simple(self.take(1)[0])
        if info == 25:
            return struct.unpack('>e', self.take(2))[0]
        if info == 26:
            return struct.unpack('>f', self.take(4))[0]
        if info == 27:
            return struct.unpack('>d', self.take(8))[0]
        raise CborDecodeError('reserved simple/float info %d' % info)


def cbor_loads(data):
    """Decode exactly one CBOR item; trailing bytes are an error."""
    d = _Decoder(data)
    obj = d.item()
    if d.pos != len(d.data):
        raise CborDecodeError('%d trailing bytes after the CBOR item' % (len(d.data) - d.pos))
    return obj


# ---------------------------------------------------------------------------
# HTTP helpers
# ---------------------------------------------------------------------------

def cbor_raw(server, operation, body, target=None, content_type=CBOR_CT, timeout=30.0):
    """POST raw bytes with the CBOR content type; returns harness.RawResponse."""
    headers = h.kinesis_headers(operation, content_type=content_type, target=target)
    return h.raw_request(server, 'POST', '/', headers, body, timeout=timeout)


def json_of(resp):
    return json.loads(resp.body.decode('utf-8')) if resp.body else {}


def media_type(resp):
    return (resp.header('content-type') or '').split(';')[0].strip().lower()


def is_ms_timestamp(value):
    return isinstance(value, Tag) and value.tag == 1 and isinstance(value.value, int) \
        and not isinstance(value.value, bool)


def now_ms():
    return int(time.time() * 1000)


class CborError(AssertionError):
    def __init__(self, resp, decoded):
        self.resp = resp
        self.decoded = decoded
        AssertionError.__init__(self, 'HTTP %d: %r' % (resp.status, decoded))


class Base(h.ServerTestCase):
    maxDiff = 6000

    # -- transport -----------------------------------------------------------
    def call_raw(self, operation, payload, **kw):
        body = payload if isinstance(payload, (bytes, bytearray)) else cbor_dumps(payload)
        return cbor_raw(self.server, operation, body, **kw)

    def decode(self, resp, what):
        try:
            return cbor_loads(resp.body)
        except CborDecodeError as e:
            self.fail('%s: response body is not a single CBOR item (%s): %r' % (what, e, resp))

    def cbor(self, operation, payload=None, allow_empty=True):
        """One successful CBOR call; returns the decoded response map ({} for an empty body)."""
        resp = self.call_raw(operation, {} if payload is None else payload)
        if resp.status != 200:
            decoded = None
            try:
                decoded = cbor_loads(resp.body)
            except CborDecodeError:
                decoded = resp.body[:600]
            self.fail('%s: expected HTTP 200, got %d %r (Content-Type %r)'
                      % (operation, resp.status, decoded, resp.header('content-type')))
        self.assertIsNotNone(resp.header('x-amzn-RequestId'), '%s: no x-amzn-RequestId header' % operation)
        if not resp.body:
            if not allow_empty:
                self.fail('%s: HTTP 200 with an empty body, expected a CBOR map' % operation)
            return {}
        self.assertEqual(media_type(resp), CBOR_CT, '%s: success Content-Type' % operation)
        out = self.decode(resp, operation)
        self.assertIsInstance(out, dict, '%s: response is not a CBOR map: %r' % (operation, out))
        return out

    def cbor_error(self, operation, payload, error_type, message=None, regex=None, message_key=None):
        """A call that must fail with HTTP 400, a CBOR error map of ``error_type``; returns the map."""
        resp = self.call_raw(operation, payload)
        return self.check_error(resp, operation, error_type, message, regex, message_key)

    def check_error(self, resp, what, error_type, message=None, regex=None, message_key=None):
        self.assertEqual(resp.status, 400, '%s: HTTP status (%r)' % (what, resp))
        self.assertEqual(media_type(resp), CBOR_CT, '%s: error Content-Type (%r)' % (what, resp))
        err = self.decode(resp, what)
        self.assertIsInstance(err, dict, '%s: error body is not a CBOR map: %r' % (what, err))
        if isinstance(error_type, tuple):
            self.assertIn(err.get('__type'), error_type, '%s: __type of %r' % (what, err))
        else:
            self.assertEqual(err.get('__type'), error_type, '%s: __type of %r' % (what, err))
        if message_key is not None:
            self.assertIn(message_key, err, '%s: error map lacks %r: %r' % (what, message_key, err))
        got = err.get('message', err.get('Message'))
        if message is not None:
            self.assertEqual(got, message, '%s: error message' % what)
        if regex is not None:
            self.assertRegex(got or '', regex, '%s: error message' % what)
        return err

    def json(self, operation, payload=None):
        resp = h.kinesis_call(self.server, operation, payload or {})
        self.assertEqual(resp.status, 200, '%s (JSON): %r' % (operation, resp))
        return json_of(resp)

    # -- timestamps ------------------------------------------------------------
    def assert_ms_timestamp(self, value, what, near=None, tolerance=NOW_TOLERANCE_MS):
        """value must be tag 1 around an integer (milliseconds); optionally close to ``near`` (ms)."""
        self.assertTrue(is_ms_timestamp(value),
                        '%s must be CBOR tag 1 around an integer of epoch milliseconds, got %r' % (what, value))
        if near is not None:
            self.assertLessEqual(abs(value.value - near), tolerance,
                                 '%s = %r is not within %d ms of %d (seconds instead of ms?)'
                                 % (what, value, tolerance, near))
        return value.value

    # -- streams ---------------------------------------------------------------
    def summary(self, name):
        return self.cbor('DescribeStreamSummary', {'StreamName': name}, allow_empty=False)['StreamDescriptionSummary']

    def wait_active(self, name, timeout=10.0):
        deadline = time.time() + timeout
        while True:
            s = self.summary(name)
            if s['StreamStatus'] == 'ACTIVE':
                return s
            if time.time() > deadline:
                self.fail('stream %s not ACTIVE after %.0fs (%s)' % (name, timeout, s['StreamStatus']))
            time.sleep(0.02)

    def new_stream(self, shards=1, prefix='cb', **extra):
        name = h.unique_name(prefix)
        req = {'StreamName': name}
        if shards is not None:
            req['ShardCount'] = shards
        req.update(extra)
        self.cbor('CreateStream', req)
        self.addCleanup(self._delete_quietly, name)
        self.wait_active(name)
        return name

    def _delete_quietly(self, name):
        try:
            self.call_raw('DeleteStream', {'StreamName': name, 'EnforceConsumerDeletion': True})
        except Exception:
            pass

    def list_shards(self, name, **kw):
        req = {'StreamName': name}
        req.update(kw)
        shards, resp = [], self.cbor('ListShards', req, allow_empty=False)
        for _ in range(100):
            shards += resp['Shards']
            token = resp.get('NextToken')
            if not token:
                return shards
            resp = self.cbor('ListShards', {'NextToken': token}, allow_empty=False)
        self.fail('ListShards kept returning NextToken')

    def iterator(self, name, shard, itype='TRIM_HORIZON', **kw):
        req = {'StreamName': name, 'ShardId': shard, 'ShardIteratorType': itype}
        req.update(kw)
        it = self.cbor('GetShardIterator', req, allow_empty=False)['ShardIterator']
        self.assertIsInstance(it, str)
        return it

    def drain(self, iterator, limit=None, max_calls=50):
        """GetRecords (CBOR) until caught up; returns (records, responses)."""
        records, responses = [], []
        for _ in range(max_calls):
            req = {'ShardIterator': iterator}
            if limit is not None:
                req['Limit'] = limit
            resp = self.cbor('GetRecords', req, allow_empty=False)
            responses.append(resp)
            records += resp['Records']
            iterator = resp.get('NextShardIterator')
            if iterator is None or (not resp['Records'] and resp.get('MillisBehindLatest') == 0):
                break
        return records, responses

    def read(self, name, shard, itype='TRIM_HORIZON', **kw):
        return self.drain(self.iterator(name, shard, itype, **kw))[0]

    def put(self, name, pk, data, **kw):
        req = {'StreamName': name, 'PartitionKey': pk, 'Data': data}
        req.update(kw)
        return self.cbor('PutRecord', req, allow_empty=False)


def rng(shard):
    r = shard['HashKeyRange']
    return int(r['StartingHashKey']), int(r['EndingHashKey'])


def is_open(shard):
    return 'EndingSequenceNumber' not in shard['SequenceNumberRange']


def not_found(name):
    return 'Stream %s under account %s not found.' % (name, ACCT)


# ---------------------------------------------------------------------------
# 0. The codec itself (so that a failure below is not the test's own fault)
# ---------------------------------------------------------------------------

class TestCodec(unittest.TestCase):

    def test_known_vectors(self):
        # RFC 8949 appendix A and the tag-1-ms example of kinesis-behaviour.md section 15
        vectors = [
            (0, '00'), (23, '17'), (24, '1818'), (1000, '1903e8'), (1000000, '1a000f4240'),
            (-1, '20'), (-1000, '3903e7'), (b'', '40'), (b'\x01\x02', '420102'), ('', '60'), ('a', '6161'),
            ('\u00fc', '62c3bc'), ([], '80'), ([1, [2, 3]], '8201820203'), ({}, 'a0'),
            ({'a': 1}, 'a1616101'), (True, 'f5'), (False, 'f4'), (None, 'f6'),
            (Tag(1, 1787036486712), 'c11b000001a013accc38'),
        ]
        for value, hexed in vectors:
            self.assertEqual(cbor_dumps(value).hex(), hexed, value)
            self.assertEqual(cbor_loads(bytes.fromhex(hexed)), value, hexed)
        self.assertEqual(cbor_loads(bytes.fromhex('f93c00')), 1.0)
        self.assertEqual(cbor_loads(bytes.fromhex('5f42010243030405ff')), b'\x01\x02\x03\x04\x05')
        self.assertEqual(cbor_loads(bytes.fromhex('7f657374726561646d696e67ff')), 'streaming')
        self.assertEqual(cbor_loads(bytes.fromhex('9f018202039f0405ffff')), [1, [2, 3], [4, 5]])
        self.assertEqual(cbor_loads(bytes.fromhex('bf61610161629f0203ffff')), {'a': 1, 'b': [2, 3]})
        # the indefinite-length error map early kinesalite hard-coded
        self.assertEqual(cbor_loads(b'\xbf\x66__type\x78\x19UnknownOperationException\xff'),
                         {'__type': 'UnknownOperationException'})
        self.assertEqual(cbor_dumps(Indef({'a': Indef(['x', 'y'], 'text'), 'b': Indef([Indef([b'1', b'2'], 'bytes')])})),
                         bytes.fromhex('bf6161') + bytes.fromhex('7f61786179ff') + bytes.fromhex('61629f5f41314132ffffff'))
        for bad in (b'', b'\x61', b'\xff', b'\x00\x00', b'\xa1\x61a', b'\x62\xc3\x28', b'\x1c'):
            with self.assertRaises(CborDecodeError, msg=bad):
                cbor_loads(bad)


# ---------------------------------------------------------------------------
# 1. Stream creation and description
# ---------------------------------------------------------------------------

class TestStreams(Base):

    def test_create_with_tags_describe_list(self):
        name = h.unique_name('cb-create')
        before = now_ms()
        self.cbor('CreateStream', {'StreamName': name, 'ShardCount': 3, 'Tags': {'team': 'blue', 'env': 'test'}})
        self.addCleanup(self._delete_quietly, name)
        summ = self.wait_active(name)
        arn = h.stream_arn(name)

        with self.subTest('DescribeStreamSummary'):
            self.assertEqual(summ['StreamName'], name)
            self.assertEqual(summ['StreamARN'], arn)
            self.assertEqual(summ['StreamModeDetails'], {'StreamMode': 'PROVISIONED'})
            self.assertEqual(summ['RetentionPeriodHours'], 24)
            self.assertEqual(summ['OpenShardCount'], 3)
            self.assertEqual(summ['ConsumerCount'], 0)
            self.assertEqual(summ['EncryptionType'], 'NONE')
            self.assertEqual(summ['EnhancedMonitoring'], [{'ShardLevelMetrics': []}])
            created = self.assert_ms_timestamp(summ['StreamCreationTimestamp'], 'StreamCreationTimestamp',
                                               near=before)
            # compare with the JSON protocol (epoch seconds there)
            js = self.json('DescribeStreamSummary', {'StreamName': name})['StreamDescriptionSummary']
            self.assertLessEqual(abs(js['StreamCreationTimestamp'] * 1000 - created), 1000,
                                 'CBOR ms %r vs JSON seconds %r' % (created, js['StreamCreationTimestamp']))
            for key in ('StreamName', 'StreamARN', 'StreamStatus', 'StreamModeDetails', 'RetentionPeriodHours',
                        'OpenShardCount', 'ConsumerCount', 'EncryptionType', 'EnhancedMonitoring'):
                self.assertEqual(summ.get(key), js.get(key), key)

        with self.subTest('DescribeStream'):
            desc = self.cbor('DescribeStream', {'StreamName': name}, allow_empty=False)['StreamDescription']
            self.assertEqual(desc['StreamStatus'], 'ACTIVE')
            self.assertIs(desc['HasMoreShards'], False)
            self.assertEqual([s['ShardId'] for s in desc['Shards']], [h.shard_id(i) for i in range(3)])
            self.assertEqual([rng(s) for s in desc['Shards']], h.hash_ranges(3))
            for s in desc['Shards']:
                self.assertIsInstance(s['SequenceNumberRange']['StartingSequenceNumber'], str)
                self.assertRegex(s['SequenceNumberRange']['StartingSequenceNumber'], SEQ_PATTERN)
            self.assert_ms_timestamp(desc['StreamCreationTimestamp'], 'DescribeStream StreamCreationTimestamp',
                                     near=before)
            self.assertEqual(desc['StreamCreationTimestamp'], summ['StreamCreationTimestamp'])
            js = self.json('DescribeStream', {'StreamName': name})['StreamDescription']
            self.assertEqual(desc['Shards'], js['Shards'])
            # Limit + ExclusiveStartShardId paging
            page = self.cbor('DescribeStream', {'StreamName': name, 'Limit': 2}, allow_empty=False)['StreamDescription']
            self.assertEqual([s['ShardId'] for s in page['Shards']], [h.shard_id(0), h.shard_id(1)])
            self.assertIs(page['HasMoreShards'], True)
            page = self.cbor('DescribeStream', {'StreamName': name, 'ExclusiveStartShardId': h.shard_id(1)},
                             allow_empty=False)['StreamDescription']
            self.assertEqual([s['ShardId'] for s in page['Shards']], [h.shard_id(2)])

        with self.subTest('ListStreams'):
            found, token, req = [], None, {'Limit': 100}
            for _ in range(50):
                resp = self.cbor('ListStreams', {'NextToken': token} if token else req, allow_empty=False)
                self.assertIsInstance(resp['HasMoreStreams'], bool)
                found += resp.get('StreamSummaries', [])
                self.assertIn('StreamNames', resp)
                token = resp.get('NextToken')
                if not resp['HasMoreStreams'] or not token:
                    break
            mine = [s for s in found if s['StreamName'] == name]
            self.assertEqual(len(mine), 1, found)
            self.assertEqual(mine[0]['StreamARN'], arn)
            self.assertEqual(mine[0]['StreamStatus'], 'ACTIVE')
            self.assertEqual(mine[0]['StreamModeDetails'], {'StreamMode': 'PROVISIONED'})
            self.assertEqual(mine[0]['StreamCreationTimestamp'], summ['StreamCreationTimestamp'])
            resp = self.cbor('ListStreams', {'ExclusiveStartStreamName': name, 'Limit': 100}, allow_empty=False)
            self.assertNotIn(name, resp['StreamNames'])

        with self.subTest('Tags given at CreateStream'):
            tags = self.cbor('ListTagsForStream', {'StreamName': name}, allow_empty=False)
            self.assertEqual(sorted((t['Key'], t['Value']) for t in tags['Tags']), [('env', 'test'), ('team', 'blue')])
            self.assertIs(tags['HasMoreTags'], False)

    def test_list_shards_with_filters(self):
        name = self.new_stream(2, 'cb-ls')
        created = self.summary(name)['StreamCreationTimestamp']
        all_shards = self.list_shards(name)
        self.assertEqual([s['ShardId'] for s in all_shards], [h.shard_id(0), h.shard_id(1)])
        self.assertEqual(all_shards, self.json('ListShards', {'StreamName': name})['Shards'])

        with self.subTest('MaxResults + NextToken'):
            resp = self.cbor('ListShards', {'StreamName': name, 'MaxResults': 1}, allow_empty=False)
            self.assertEqual([s['ShardId'] for s in resp['Shards']], [h.shard_id(0)])
            self.assertIsInstance(resp.get('NextToken'), str)
            resp = self.cbor('ListShards', {'NextToken': resp['NextToken']}, allow_empty=False)
            self.assertEqual([s['ShardId'] for s in resp['Shards']], [h.shard_id(1)])

        with self.subTest('StreamCreationTimestamp (tag 1 ms) in the request'):
            resp = self.cbor('ListShards', {'StreamName': name, 'StreamCreationTimestamp': created}, allow_empty=False)
            self.assertEqual(len(resp['Shards']), 2)

        with self.subTest('ExclusiveStartShardId'):
            resp = self.cbor('ListShards', {'StreamName': name, 'ExclusiveStartShardId': h.shard_id(0)},
                             allow_empty=False)
            self.assertEqual([s['ShardId'] for s in resp['Shards']], [h.shard_id(1)])

        # reshard so that filters have something to distinguish: split shard 0 -> 2, 3 (0 closed)
        # The split must come later than created + 1 ms (the last subtest reads the shards open
        # then): a fast server got here within that millisecond.
        while now_ms() <= created.value + 5:
            time.sleep(0.002)
        lo, hi = rng(all_shards[0])
        self.cbor('SplitShard', {'StreamName': name, 'ShardToSplit': h.shard_id(0),
                                 'NewStartingHashKey': str((lo + hi) // 2)})
        self.wait_active(name)
        ids = lambda shards: sorted(s['ShardId'] for s in shards)
        everything = [h.shard_id(i) for i in range(4)]
        open_now = [h.shard_id(1), h.shard_id(2), h.shard_id(3)]
        future = ms(now_ms() + 3600 * 1000)
        past = ms(created.value - 3600 * 1000)
        cases = [
            # shards open at the trim horizon (the stream's first shards; data is not older than the stream)
            ({'Type': 'AT_TRIM_HORIZON'}, [h.shard_id(0), h.shard_id(1)]),
            ({'Type': 'FROM_TRIM_HORIZON'}, everything),
            ({'Type': 'AT_LATEST'}, open_now),
            ({'Type': 'AFTER_SHARD_ID', 'ShardId': h.shard_id(1)}, [h.shard_id(2), h.shard_id(3)]),
            # FROM_TIMESTAMP before the trim horizon is corrected to TRIM_HORIZON: everything
            ({'Type': 'FROM_TIMESTAMP', 'Timestamp': past}, everything),
            # an hour from now (ms!): only shards open then; read as seconds it would be far in the past
            ({'Type': 'AT_TIMESTAMP', 'Timestamp': future}, open_now),
            ({'Type': 'FROM_TIMESTAMP', 'Timestamp': future}, open_now),
        ]
        for flt, expected in cases:
            with self.subTest(filter=repr(flt)):
                got = self.list_shards(name, ShardFilter=flt)
                self.assertEqual(ids(got), expected)

        with self.subTest('ShardFilter Timestamp is read as milliseconds'):
            # The split happened after `created`; at created+1 ms (AT_TIMESTAMP = shards open at that time)
            # the parent shard 0 was open and the children not yet.  Read as seconds (x1000) it would be
            # centuries in the future and give the children instead.
            got = self.list_shards(name, ShardFilter={'Type': 'AT_TIMESTAMP', 'Timestamp': ms(created.value + 1)})
            self.assertEqual(ids(got), [h.shard_id(0), h.shard_id(1)])
            js = self.json('ListShards', {'StreamName': name,
                                          'ShardFilter': {'Type': 'AT_TIMESTAMP',
                                                          'Timestamp': (created.value + 1) / 1000.0}})
            self.assertEqual(ids(got), ids(js['Shards']))

    def test_on_demand_stream(self):
        name = h.unique_name('cb-od')
        self.cbor('CreateStream', {'StreamName': name, 'StreamModeDetails': {'StreamMode': 'ON_DEMAND'}})
        self.addCleanup(self._delete_quietly, name)
        summ = self.wait_active(name)
        arn = h.stream_arn(name)
        self.assertEqual(summ['StreamModeDetails'], {'StreamMode': 'ON_DEMAND'})
        self.assertGreaterEqual(summ['OpenShardCount'], 1)
        limits = self.cbor('DescribeLimits', {}, allow_empty=False)
        self.assertGreaterEqual(limits['OnDemandStreamCount'], 1)
        self.assertIsInstance(limits['OnDemandStreamCountLimit'], int)
        r = self.put(name, 'od', b'\x00on-demand\xff')
        self.assertRegex(r['SequenceNumber'], SEQ_PATTERN)

        with self.subTest('UpdateStreamWarmThroughput'):
            r = self.cbor('UpdateStreamWarmThroughput', {'StreamName': name, 'WarmThroughputMiBps': 100},
                          allow_empty=False)
            self.assertEqual(r.get('StreamName'), name)
            self.assertEqual(r.get('StreamARN'), arn)
            self.assertEqual(r['WarmThroughput']['TargetMiBps'], 100)
            self.wait_active(name)
            self.assertEqual(self.summary(name).get('WarmThroughput', {}).get('TargetMiBps'), 100)
            # provisioned streams do not support warm throughput
            prov = self.new_stream(1, 'cb-warm-prov')
            self.cbor_error('UpdateStreamWarmThroughput', {'StreamName': prov, 'WarmThroughputMiBps': 100},
                            'ValidationException')

        with self.subTest('UpdateStreamMode'):
            self.cbor('UpdateStreamMode', {'StreamARN': arn, 'StreamModeDetails': {'StreamMode': 'PROVISIONED'}})
            self.wait_active(name)
            self.assertEqual(self.summary(name)['StreamModeDetails'], {'StreamMode': 'PROVISIONED'})
            self.cbor('UpdateStreamMode', {'StreamARN': arn, 'StreamModeDetails': {'StreamMode': 'ON_DEMAND'}})
            self.wait_active(name)
            self.assertEqual(self.summary(name)['StreamModeDetails'], {'StreamMode': 'ON_DEMAND'})
            self.assertEqual(self.json('DescribeStreamSummary', {'StreamName': name})
                             ['StreamDescriptionSummary']['StreamModeDetails'], {'StreamMode': 'ON_DEMAND'})

    def test_delete_stream(self):
        name = self.new_stream(1, 'cb-del')
        arn = h.stream_arn(name)
        carn = self.cbor('RegisterStreamConsumer', {'StreamARN': arn, 'ConsumerName': 'dc'},
                         allow_empty=False)['Consumer']['ConsumerARN']
        # registered consumers block a plain delete
        self.cbor_error('DeleteStream', {'StreamName': name}, 'ResourceInUseException')
        self.cbor('DeleteStream', {'StreamName': name, 'EnforceConsumerDeletion': True})
        deadline = time.time() + 10
        while True:
            resp = self.call_raw('DescribeStreamSummary', {'StreamName': name})
            if resp.status == 400:
                break
            self.assertEqual(resp.status, 200, resp)
            self.assertEqual(cbor_loads(resp.body)['StreamDescriptionSummary']['StreamStatus'], 'DELETING')
            self.assertLess(time.time(), deadline, 'stream still there 10 s after DeleteStream')
            time.sleep(0.02)
        self.check_error(resp, 'DescribeStreamSummary after delete', 'ResourceNotFoundException',
                         message=not_found(name))
        self.cbor_error('DescribeStreamConsumer', {'ConsumerARN': carn}, 'ResourceNotFoundException')
        self.cbor_error('DeleteStream', {'StreamName': name}, 'ResourceNotFoundException', message=not_found(name))
        # by ARN
        other = self.new_stream(1, 'cb-del-arn')
        self.cbor('DeleteStream', {'StreamARN': h.stream_arn(other)})
        deadline = time.time() + 10
        while self.call_raw('DescribeStreamSummary', {'StreamName': other}).status == 200:
            self.assertLess(time.time(), deadline, 'stream still there 10 s after DeleteStream(StreamARN)')
            time.sleep(0.02)


# ---------------------------------------------------------------------------
# 2. Data plane
# ---------------------------------------------------------------------------

ALL_BYTES = bytes(range(256))


class TestDataPlane(Base):

    def test_put_record_binary_and_get_records(self):
        name = self.new_stream(1, 'cb-data')
        shard = h.shard_id(0)
        payloads = [
            b'\x00',
            b'\x00' * 64,
            b'\xff' * 64,
            ALL_BYTES,
            b'\x00\xff' * 100 + b'\xff\x00',
            '\u00fc\u00f1\u00ee\u00e7\u00f8d\u00e9 text'.encode('utf-8'),
            os.urandom(3000),
        ]
        sent = []
        before = now_ms()
        for i, data in enumerate(payloads):
            r = self.put(name, 'pk-%d' % i, data)
            self.assertEqual(r['ShardId'], shard)
            self.assertIsInstance(r['SequenceNumber'], str)
            self.assertRegex(r['SequenceNumber'], SEQ_PATTERN)
            self.assertEqual(r.get('EncryptionType', 'NONE'), 'NONE')
            sent.append((r['SequenceNumber'], 'pk-%d' % i, data))
        after = now_ms()

        records = self.read(name, shard)
        self.assertEqual([(r['SequenceNumber'], r['PartitionKey']) for r in records],
                         [(s, pk) for s, pk, _ in sent])
        for rec, (_, pk, data) in zip(records, sent):
            with self.subTest(pk=pk):
                self.assertIsInstance(rec['Data'], bytes,
                                      'Data must come back as a CBOR byte string (major type 2), got %r'
                                      % (type(rec['Data']),))
                self.assertTrue(rec['Data'] == data, '%s: Data not byte-exact: sent %r..., got %r...'
                                % (pk, data[:40], rec['Data'][:40]))
                self.assertIsInstance(rec['SequenceNumber'], str)
                self.assertRegex(rec['SequenceNumber'], SEQ_PATTERN)
                t = self.assert_ms_timestamp(rec['ApproximateArrivalTimestamp'], 'ApproximateArrivalTimestamp')
                self.assertTrue(before - 1000 <= t <= after + 1000,
                                'ApproximateArrivalTimestamp %d ms not within the put window [%d, %d]'
                                % (t, before, after))
        # sequence numbers increase
        seqs = [int(r['SequenceNumber']) for r in records]
        self.assertEqual(seqs, sorted(seqs))
        self.assertEqual(len(set(seqs)), len(seqs))

        with self.subTest('same records through the JSON protocol'):
            it = h.kinesis_call(self.server, 'GetShardIterator', {'StreamName': name, 'ShardId': shard,
                                                                  'ShardIteratorType': 'TRIM_HORIZON'})
            resp = json_of(h.kinesis_call(self.server, 'GetRecords', {'ShardIterator': json_of(it)['ShardIterator']}))
            self.assertEqual(len(resp['Records']), len(records))
            for jr, cr in zip(resp['Records'], records):
                self.assertEqual(base64.b64decode(jr['Data']), cr['Data'])
                self.assertEqual(jr['SequenceNumber'], cr['SequenceNumber'])
                self.assertEqual(jr['PartitionKey'], cr['PartitionKey'])
                self.assertLessEqual(abs(jr['ApproximateArrivalTimestamp'] * 1000
                                         - cr['ApproximateArrivalTimestamp'].value), 1,
                                     'JSON %r s vs CBOR %r ms' % (jr['ApproximateArrivalTimestamp'],
                                                                  cr['ApproximateArrivalTimestamp']))

        with self.subTest('GetRecords response shape'):
            it = self.iterator(name, shard)
            resp = self.cbor('GetRecords', {'ShardIterator': it, 'Limit': 2}, allow_empty=False)
            self.assertEqual(len(resp['Records']), 2)
            self.assertIsInstance(resp['NextShardIterator'], str)
            self.assertIsInstance(resp['MillisBehindLatest'], int)
            resp = self.cbor('GetRecords', {'ShardIterator': resp['NextShardIterator']}, allow_empty=False)
            self.assertEqual([r['SequenceNumber'] for r in resp['Records']], [s for s, _, _ in sent[2:]])
            self.assertEqual(resp['MillisBehindLatest'], 0)

    def test_large_blob(self):
        name = self.new_stream(1, 'cb-big')
        pk = 'big'
        data = bytes([0, 255]) + os.urandom(h.MAX_RECORD_BYTES - len(pk) - 4) + bytes([255, 0])
        self.assertEqual(len(data) + len(pk), h.MAX_RECORD_BYTES)
        r = self.put(name, pk, data)
        recs = self.read(name, h.shard_id(0))
        self.assertEqual(len(recs), 1)
        self.assertEqual(recs[0]['SequenceNumber'], r['SequenceNumber'])
        self.assertIsInstance(recs[0]['Data'], bytes)
        self.assertEqual(len(recs[0]['Data']), len(data))
        self.assertTrue(recs[0]['Data'] == data, 'the ~1 MiB blob came back altered')
        # one byte over the limit (data + partition key) is rejected, as a CBOR error
        # (data alone is still <= 1 MiB, so which of the two types AWS uses is not pinned down)
        self.cbor_error('PutRecord', {'StreamName': name, 'PartitionKey': pk, 'Data': data + b'\x00'},
                        ('ValidationException', 'InvalidArgumentException'))
        # data alone over 1 MiB: the model constraint (section 2.2)
        self.cbor_error('PutRecord', {'StreamName': name, 'PartitionKey': pk, 'Data': data + b'\x00' * 8},
                        'ValidationException',
                        regex=r"at 'data' failed to satisfy constraint: Member must have length less than or "
                              r"equal to 1048576")

    def test_put_records(self):
        name = self.new_stream(2, 'cb-prs')
        entries = [
            {'Data': b'\x00\x00\x00', 'PartitionKey': 'a'},
            {'Data': b'\xff\xfe\xfd', 'PartitionKey': 'b'},
            {'Data': ALL_BYTES, 'PartitionKey': 'c', 'ExplicitHashKey': str(MAX)},
            {'Data': b'\x00', 'PartitionKey': 'd', 'ExplicitHashKey': '0'},
            {'Data': os.urandom(10000), 'PartitionKey': 'e'},
        ]
        resp = self.cbor('PutRecords', {'StreamName': name, 'Records': entries}, allow_empty=False)
        self.assertEqual(resp['FailedRecordCount'], 0)
        self.assertEqual(len(resp['Records']), len(entries))
        self.assertEqual(resp.get('EncryptionType', 'NONE'), 'NONE')
        for e, r in zip(entries, resp['Records']):
            self.assertRegex(r['SequenceNumber'], SEQ_PATTERN)
            self.assertEqual(r['ShardId'], h.expected_shard_for_pk(e['PartitionKey'], 2, e.get('ExplicitHashKey')))
        got = {}
        for sid in (h.shard_id(0), h.shard_id(1)):
            for rec in self.read(name, sid):
                got[rec['SequenceNumber']] = (sid, rec['PartitionKey'], rec['Data'])
        for e, r in zip(entries, resp['Records']):
            self.assertIn(r['SequenceNumber'], got)
            sid, pk, data = got[r['SequenceNumber']]
            self.assertEqual((sid, pk), (r['ShardId'], e['PartitionKey']))
            self.assertTrue(data == e['Data'], 'record %s not byte-exact' % pk)

    def test_get_shard_iterator_types(self):
        name = self.new_stream(1, 'cb-it')
        shard = h.shard_id(0)
        seqs = []
        for i in range(3):
            seqs.append(self.put(name, 'k', b'r%d\x00\xff' % i)['SequenceNumber'])
            time.sleep(0.015)        # distinct arrival milliseconds
        recs = self.read(name, shard)
        self.assertEqual([r['SequenceNumber'] for r in recs], seqs)
        arrivals = [self.assert_ms_timestamp(r['ApproximateArrivalTimestamp'], 'arrival') for r in recs]
        self.assertLess(arrivals[0], arrivals[2], arrivals)

        def seq_list(itype, **kw):
            return [r['SequenceNumber'] for r in self.read(name, shard, itype, **kw)]

        self.assertEqual(seq_list('TRIM_HORIZON'), seqs)
        self.assertEqual(seq_list('AT_SEQUENCE_NUMBER', StartingSequenceNumber=seqs[1]), seqs[1:])
        self.assertEqual(seq_list('AFTER_SEQUENCE_NUMBER', StartingSequenceNumber=seqs[1]), seqs[2:])
        latest = self.iterator(name, shard, 'LATEST')
        self.assertEqual(self.drain(latest)[0], [])
        seqs.append(self.put(name, 'k', b'after latest')['SequenceNumber'])
        self.assertEqual([r['SequenceNumber'] for r in self.drain(latest)[0]], seqs[3:])

        with self.subTest('AT_TIMESTAMP, tag-1 milliseconds'):
            self.assertEqual(seq_list('AT_TIMESTAMP', Timestamp=ms(arrivals[0] - 3600 * 1000)), seqs)
            # exactly the arrival millisecond of the last pre-LATEST record: that record and later ones;
            # a server reading the value as seconds would reject it as far in the future
            self.assertEqual(seq_list('AT_TIMESTAMP', Timestamp=ms(arrivals[2])), seqs[2:])
            if arrivals[1] > arrivals[0]:
                self.assertEqual(seq_list('AT_TIMESTAMP', Timestamp=ms(arrivals[1])), seqs[1:])
            # one millisecond after the last record but not in the future
            time.sleep(0.01)
            last = self.read(name, shard, 'AT_SEQUENCE_NUMBER', StartingSequenceNumber=seqs[3])
            t3 = last[0]['ApproximateArrivalTimestamp'].value
            self.assertEqual(seq_list('AT_TIMESTAMP', Timestamp=ms(t3 + 1)), [])
            # JSON agrees (seconds with a fraction there)
            js_it = json_of(h.kinesis_call(self.server, 'GetShardIterator', {
                'StreamName': name, 'ShardId': shard, 'ShardIteratorType': 'AT_TIMESTAMP',
                'Timestamp': arrivals[2] / 1000.0}))['ShardIterator']
            js_recs = json_of(h.kinesis_call(self.server, 'GetRecords', {'ShardIterator': js_it}))['Records']
            self.assertEqual([r['SequenceNumber'] for r in js_recs], seqs[2:])

        with self.subTest('AT_TIMESTAMP in the future echoes the milliseconds'):
            future = now_ms() + 3600 * 1000
            self.cbor_error('GetShardIterator', {'StreamName': name, 'ShardId': shard,
                                                 'ShardIteratorType': 'AT_TIMESTAMP', 'Timestamp': ms(future)},
                            'InvalidArgumentException',
                            regex=r'^The timestampInMillis parameter cannot be greater than the '
                                  r'currentTimestampInMillis\. timestampInMillis: %d, currentTimestampInMillis: '
                                  r'\d{13}$' % future)

        with self.subTest('AT_TIMESTAMP without Timestamp'):
            self.cbor_error('GetShardIterator', {'StreamName': name, 'ShardId': shard,
                                                 'ShardIteratorType': 'AT_TIMESTAMP'},
                            'InvalidArgumentException',
                            message='Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. '
                                    'Current request has no timestamp parameter.')

        with self.subTest('iterator errors'):
            self.cbor_error('GetRecords', {'ShardIterator': 'AAAAnot-an-iterator'}, 'InvalidArgumentException',
                            message='Invalid ShardIterator.')
            self.cbor_error('GetShardIterator', {'StreamName': name, 'ShardId': h.shard_id(5),
                                                 'ShardIteratorType': 'LATEST'},
                            'ResourceNotFoundException',
                            message='Shard %s in stream %s under account %s does not exist'
                                    % (h.shard_id(5), name, ACCT))

    def test_max_record_size(self):
        name = self.new_stream(1, 'cb-maxrec')
        arn = h.stream_arn(name)
        self.assertEqual(self.summary(name).get('MaxRecordSizeInKiB', 1024), 1024)
        for bad in (1023, 10241):
            self.cbor_error('UpdateMaxRecordSize', {'StreamARN': arn, 'MaxRecordSizeInKiB': bad}, 'ValidationException')
        self.cbor('UpdateMaxRecordSize', {'StreamARN': arn, 'MaxRecordSizeInKiB': 2048})
        self.wait_active(name)
        self.assertEqual(self.summary(name)['MaxRecordSizeInKiB'], 2048)
        big = b'\xff\x00' + os.urandom(1536 * 1024) + b'\x00\xff'
        r = self.put(name, 'big', big)
        recs = self.read(name, h.shard_id(0))
        self.assertEqual([x['SequenceNumber'] for x in recs], [r['SequenceNumber']])
        self.assertTrue(recs[0]['Data'] == big, 'the 1.5 MiB record came back altered')


# ---------------------------------------------------------------------------
# 3. Control plane
# ---------------------------------------------------------------------------

class TestControlPlane(Base):

    def test_retention(self):
        name = self.new_stream(1, 'cb-ret')
        self.cbor('IncreaseStreamRetentionPeriod', {'StreamName': name, 'RetentionPeriodHours': 48})
        self.assertEqual(self.wait_active(name)['RetentionPeriodHours'], 48)
        self.cbor('DecreaseStreamRetentionPeriod', {'StreamName': name, 'RetentionPeriodHours': 36})
        self.assertEqual(self.wait_active(name)['RetentionPeriodHours'], 36)
        self.assertEqual(self.json('DescribeStreamSummary', {'StreamName': name})
                         ['StreamDescriptionSummary']['RetentionPeriodHours'], 36)
        self.cbor_error('DecreaseStreamRetentionPeriod', {'StreamName': name, 'RetentionPeriodHours': 48},
                        'InvalidArgumentException',
                        message='Requested retention period (48 hours) for stream %s can not be longer than existing '
                                'retention period (36 hours). Use IncreaseRetentionPeriod API.' % name)
        self.cbor_error('IncreaseStreamRetentionPeriod', {'StreamName': name, 'RetentionPeriodHours': 30},
                        'InvalidArgumentException',
                        message='Requested retention period (30 hours) for stream %s can not be shorter than existing '
                                'retention period (36 hours). Use DecreaseRetentionPeriod API.' % name)
        self.cbor('IncreaseStreamRetentionPeriod', {'StreamARN': h.stream_arn(name), 'RetentionPeriodHours': 8760})
        self.assertEqual(self.wait_active(name)['RetentionPeriodHours'], 8760)

    def test_split_merge_update_shard_count(self):
        name = self.new_stream(2, 'cb-reshard')
        shards = self.list_shards(name)
        lo, hi = rng(shards[0])
        mid = (lo + hi) // 2
        self.cbor('SplitShard', {'StreamName': name, 'ShardToSplit': h.shard_id(0), 'NewStartingHashKey': str(mid)})
        self.wait_active(name)
        shards = {s['ShardId']: s for s in self.list_shards(name)}
        self.assertEqual(sorted(shards), [h.shard_id(i) for i in range(4)])
        self.assertFalse(is_open(shards[h.shard_id(0)]))
        self.assertEqual(rng(shards[h.shard_id(2)]), (lo, mid - 1))
        self.assertEqual(rng(shards[h.shard_id(3)]), (mid, hi))
        self.assertEqual(shards[h.shard_id(2)]['ParentShardId'], h.shard_id(0))
        self.assertEqual(shards[h.shard_id(3)]['ParentShardId'], h.shard_id(0))

        with self.subTest('closed parent: GetRecords ends with ChildShards'):
            recs, resps = self.drain(self.iterator(name, h.shard_id(0)))
            self.assertEqual(recs, [])
            self.assertIsNone(resps[-1].get('NextShardIterator'))
            children = resps[-1].get('ChildShards')
            self.assertEqual(sorted(c['ShardId'] for c in children or []), [h.shard_id(2), h.shard_id(3)])
            for c in children or []:
                self.assertEqual(c['ParentShards'], [h.shard_id(0)])

        self.cbor('MergeShards', {'StreamName': name, 'ShardToMerge': h.shard_id(2),
                                  'AdjacentShardToMerge': h.shard_id(3)})
        self.wait_active(name)
        shards = {s['ShardId']: s for s in self.list_shards(name)}
        self.assertEqual(rng(shards[h.shard_id(4)]), (lo, hi))
        self.assertEqual(shards[h.shard_id(4)]['ParentShardId'], h.shard_id(2))
        self.assertEqual(shards[h.shard_id(4)]['AdjacentParentShardId'], h.shard_id(3))

        r = self.cbor('UpdateShardCount', {'StreamName': name, 'TargetShardCount': 4,
                                           'ScalingType': 'UNIFORM_SCALING'}, allow_empty=False)
        self.assertEqual(r['CurrentShardCount'], 2)
        self.assertEqual(r['TargetShardCount'], 4)
        self.assertEqual(r['StreamName'], name)
        summ = self.wait_active(name)
        self.assertEqual(summ['OpenShardCount'], 4)
        open_ranges = sorted(rng(s) for s in self.list_shards(name) if is_open(s))
        self.assertEqual(open_ranges, h.hash_ranges(4))
        self.assertEqual(self.list_shards(name), self.json('ListShards', {'StreamName': name})['Shards'])
        # two open shards that are not neighbours
        by_range = sorted((s for s in self.list_shards(name) if is_open(s)), key=rng)
        a, c = by_range[0]['ShardId'], by_range[2]['ShardId']
        self.cbor_error('MergeShards', {'StreamName': name, 'ShardToMerge': a, 'AdjacentShardToMerge': c},
                        'InvalidArgumentException',
                        message='Shards %s and %s in stream %s under account %s are not an adjacent pair of shards '
                                'eligible for merging' % (a, c, name, ACCT))

    def test_stream_tags(self):
        name = self.new_stream(1, 'cb-tags')
        self.cbor('AddTagsToStream', {'StreamName': name, 'Tags': {'a': '1', 'b': '2', 'c': ''}})
        tags = self.cbor('ListTagsForStream', {'StreamName': name}, allow_empty=False)
        self.assertEqual(tags['Tags'], [{'Key': 'a', 'Value': '1'}, {'Key': 'b', 'Value': '2'},
                                        {'Key': 'c', 'Value': ''}])
        self.assertIs(tags['HasMoreTags'], False)
        page = self.cbor('ListTagsForStream', {'StreamName': name, 'Limit': 1, 'ExclusiveStartTagKey': 'a'},
                         allow_empty=False)
        self.assertEqual(page['Tags'], [{'Key': 'b', 'Value': '2'}])
        self.assertIs(page['HasMoreTags'], True)
        self.cbor('RemoveTagsFromStream', {'StreamName': name, 'TagKeys': ['a', 'c', 'absent']})
        tags = self.cbor('ListTagsForStream', {'StreamName': name}, allow_empty=False)
        self.assertEqual(tags['Tags'], [{'Key': 'b', 'Value': '2'}])
        self.assertEqual(tags, self.json('ListTagsForStream', {'StreamName': name}))

    def test_resource_tags(self):
        name = self.new_stream(1, 'cb-rtags')
        arn = h.stream_arn(name)
        self.cbor('TagResource', {'ResourceARN': arn, 'Tags': {'x': '1', 'y': '2'}})
        got = self.cbor('ListTagsForResource', {'ResourceARN': arn}, allow_empty=False)
        self.assertEqual(sorted((t['Key'], t.get('Value')) for t in got['Tags']), [('x', '1'), ('y', '2')])
        # same tags as seen by the stream API
        self.assertEqual(sorted((t['Key'], t['Value']) for t in
                                self.cbor('ListTagsForStream', {'StreamName': name}, allow_empty=False)['Tags']),
                         [('x', '1'), ('y', '2')])
        self.cbor('UntagResource', {'ResourceARN': arn, 'TagKeys': ['x']})
        got = self.cbor('ListTagsForResource', {'ResourceARN': arn}, allow_empty=False)
        self.assertEqual([(t['Key'], t.get('Value')) for t in got['Tags']], [('y', '2')])
        # on a consumer (with Tags at registration)
        carn = self.cbor('RegisterStreamConsumer', {'StreamARN': arn, 'ConsumerName': 'tc', 'Tags': {'k': 'v'}},
                         allow_empty=False)['Consumer']['ConsumerARN']
        self.assertEqual(self.cbor('ListTagsForResource', {'ResourceARN': carn}, allow_empty=False)['Tags'],
                         [{'Key': 'k', 'Value': 'v'}])
        self.cbor('TagResource', {'ResourceARN': carn, 'Tags': {'k2': 'v2'}})
        self.cbor('UntagResource', {'ResourceARN': carn, 'TagKeys': ['k']})
        self.assertEqual(self.cbor('ListTagsForResource', {'ResourceARN': carn}, allow_empty=False)['Tags'],
                         [{'Key': 'k2', 'Value': 'v2'}])
        missing = h.stream_arn(h.unique_name('cb-nostream'))
        self.cbor_error('ListTagsForResource', {'ResourceARN': missing}, 'ResourceNotFoundException')

    def test_encryption_and_monitoring(self):
        name = self.new_stream(1, 'cb-kms')
        self.cbor('StartStreamEncryption', {'StreamName': name, 'EncryptionType': 'KMS', 'KeyId': KMS_KEY})
        summ = self.wait_active(name)
        self.assertEqual((summ['EncryptionType'], summ.get('KeyId')), ('KMS', KMS_KEY))
        self.assertEqual(self.put(name, 'k', b'\x00secret\xff').get('EncryptionType'), 'KMS')
        recs = self.read(name, h.shard_id(0))
        self.assertEqual(recs[0]['Data'], b'\x00secret\xff')
        self.assertEqual(recs[0].get('EncryptionType'), 'KMS')
        self.cbor('StopStreamEncryption', {'StreamName': name, 'EncryptionType': 'KMS', 'KeyId': KMS_KEY})
        self.assertEqual(self.wait_active(name)['EncryptionType'], 'NONE')

        r = self.cbor('EnableEnhancedMonitoring', {'StreamName': name,
                                                   'ShardLevelMetrics': ['IncomingBytes', 'OutgoingRecords']},
                      allow_empty=False)
        self.assertEqual(r['StreamName'], name)
        self.assertEqual(r['CurrentShardLevelMetrics'], [])
        self.assertEqual(sorted(r['DesiredShardLevelMetrics']), ['IncomingBytes', 'OutgoingRecords'])
        self.wait_active(name)
        r = self.cbor('DisableEnhancedMonitoring', {'StreamName': name, 'ShardLevelMetrics': ['IncomingBytes']},
                      allow_empty=False)
        self.assertEqual(sorted(r['CurrentShardLevelMetrics']), ['IncomingBytes', 'OutgoingRecords'])
        self.assertEqual(r['DesiredShardLevelMetrics'], ['OutgoingRecords'])
        summ = self.wait_active(name)
        self.assertEqual(summ['EnhancedMonitoring'], [{'ShardLevelMetrics': ['OutgoingRecords']}])

    def test_describe_limits(self):
        lim = self.cbor('DescribeLimits', {}, allow_empty=False)
        for key in ('ShardLimit', 'OpenShardCount', 'OnDemandStreamCount', 'OnDemandStreamCountLimit'):
            self.assertIsInstance(lim.get(key), int, '%s in %r' % (key, lim))
            self.assertNotIsInstance(lim.get(key), bool)
        js = self.json('DescribeLimits')
        self.assertEqual(lim['ShardLimit'], js['ShardLimit'])
        self.assertEqual(lim['OnDemandStreamCountLimit'], js['OnDemandStreamCountLimit'])

    def test_account_settings(self):
        d = self.cbor('DescribeAccountSettings', {})
        before = now_ms()
        r = self.cbor('UpdateAccountSettings', {'MinimumThroughputBillingCommitment': {'Status': 'ENABLED'}},
                      allow_empty=False)
        self.addCleanup(self.call_raw, 'UpdateAccountSettings',
                        {'MinimumThroughputBillingCommitment': {'Status': 'DISABLED'}})
        c = r['MinimumThroughputBillingCommitment']
        self.assertEqual(c['Status'], 'ENABLED')
        d = self.cbor('DescribeAccountSettings', {}, allow_empty=False)['MinimumThroughputBillingCommitment']
        self.assertEqual(d['Status'], 'ENABLED')
        started = self.assert_ms_timestamp(d.get('StartedAt'), 'StartedAt', near=before)
        for key in ('EndedAt', 'EarliestAllowedEndAt'):
            if key in d:
                self.assert_ms_timestamp(d[key], key)
        js = self.json('DescribeAccountSettings')['MinimumThroughputBillingCommitment']
        self.assertLessEqual(abs(js['StartedAt'] * 1000 - started), 1000)
        self.cbor_error('UpdateAccountSettings', {'MinimumThroughputBillingCommitment': {'Status': 'SOMETIMES'}},
                        'ValidationException')
        r = self.cbor('UpdateAccountSettings', {'MinimumThroughputBillingCommitment': {'Status': 'DISABLED'}},
                      allow_empty=False)
        self.assertIn(r['MinimumThroughputBillingCommitment']['Status'],
                      ('DISABLED', 'ENABLED_UNTIL_EARLIEST_ALLOWED_END'))

    def test_resource_policy(self):
        name = self.new_stream(1, 'cb-pol')
        arn = h.stream_arn(name)
        policy = json.dumps({'Version': '2012-10-17', 'Statement': [{
            'Sid': 'cb', 'Effect': 'Allow', 'Principal': {'AWS': 'arn:aws:iam::%s:root' % ACCT},
            'Action': ['kinesis:GetRecords'], 'Resource': arn}]})
        self.cbor('PutResourcePolicy', {'ResourceARN': arn, 'Policy': policy})
        got = self.cbor('GetResourcePolicy', {'ResourceARN': arn}, allow_empty=False)
        self.assertEqual(json.loads(got['Policy']), json.loads(policy))
        self.assertEqual(json.loads(self.json('GetResourcePolicy', {'ResourceARN': arn})['Policy']), json.loads(policy))
        self.cbor('DeleteResourcePolicy', {'ResourceARN': arn})
        got = self.cbor('GetResourcePolicy', {'ResourceARN': arn})
        self.assertEqual(json.loads(got.get('Policy') or '{}'), {})
        missing = h.stream_arn(h.unique_name('cb-nostream'))
        self.cbor_error('GetResourcePolicy', {'ResourceARN': missing}, 'ResourceNotFoundException')


# ---------------------------------------------------------------------------
# 4. Enhanced fan-out consumers
# ---------------------------------------------------------------------------

class TestConsumers(Base):

    def test_consumer_lifecycle(self):
        name = self.new_stream(1, 'cb-efo')
        arn = h.stream_arn(name)
        before = now_ms()
        c = self.cbor('RegisterStreamConsumer', {'StreamARN': arn, 'ConsumerName': 'c1'}, allow_empty=False)['Consumer']
        self.assertEqual(c['ConsumerName'], 'c1')
        self.assertIn(c['ConsumerStatus'], ('CREATING', 'ACTIVE'))
        created = self.assert_ms_timestamp(c['ConsumerCreationTimestamp'], 'ConsumerCreationTimestamp', near=before)
        m = re.match(r'^%s/consumer/c1:(\d+)$' % re.escape(arn), c['ConsumerARN'])
        self.assertIsNotNone(m, c['ConsumerARN'])
        self.assertLessEqual(abs(int(m.group(1)) - created // 1000), 1,
                             'ARN suffix (epoch seconds) %s vs ConsumerCreationTimestamp %d ms' % (m.group(1), created))
        carn = c['ConsumerARN']

        deadline = time.time() + 10
        while True:
            d = self.cbor('DescribeStreamConsumer', {'ConsumerARN': carn}, allow_empty=False)['ConsumerDescription']
            if d['ConsumerStatus'] == 'ACTIVE':
                break
            self.assertLess(time.time(), deadline, 'consumer not ACTIVE after 10 s')
            time.sleep(0.02)
        self.assertEqual(d['ConsumerARN'], carn)
        self.assertEqual(d['StreamARN'], arn)
        self.assertEqual(d['ConsumerCreationTimestamp'], c['ConsumerCreationTimestamp'])
        by_name = self.cbor('DescribeStreamConsumer', {'StreamARN': arn, 'ConsumerName': 'c1'},
                            allow_empty=False)['ConsumerDescription']
        self.assertEqual(by_name, d)
        js = self.json('DescribeStreamConsumer', {'ConsumerARN': carn})['ConsumerDescription']
        self.assertLessEqual(abs(js['ConsumerCreationTimestamp'] * 1000 - created), 1000)
        self.assertEqual(js['ConsumerARN'], carn)
        self.assertEqual(self.summary(name)['ConsumerCount'], 1)

        self.cbor('RegisterStreamConsumer', {'StreamARN': arn, 'ConsumerName': 'c2'})
        lst = self.cbor('ListStreamConsumers', {'StreamARN': arn}, allow_empty=False)
        self.assertEqual(sorted(x['ConsumerName'] for x in lst['Consumers']), ['c1', 'c2'])
        for x in lst['Consumers']:
            self.assert_ms_timestamp(x['ConsumerCreationTimestamp'], 'ListStreamConsumers ConsumerCreationTimestamp',
                                     near=before)
        page = self.cbor('ListStreamConsumers', {'StreamARN': arn, 'MaxResults': 1}, allow_empty=False)
        self.assertEqual(len(page['Consumers']), 1)
        self.assertIsInstance(page.get('NextToken'), str)
        rest = self.cbor('ListStreamConsumers', {'StreamARN': arn, 'NextToken': page['NextToken']}, allow_empty=False)
        self.assertEqual(sorted(x['ConsumerName'] for x in page['Consumers'] + rest['Consumers']), ['c1', 'c2'])
        created_ts = self.summary(name)['StreamCreationTimestamp']
        lst2 = self.cbor('ListStreamConsumers', {'StreamARN': arn, 'StreamCreationTimestamp': created_ts},
                         allow_empty=False)
        self.assertEqual(len(lst2['Consumers']), 2)

        self.cbor_error('RegisterStreamConsumer', {'StreamARN': arn, 'ConsumerName': 'c1'}, 'ResourceInUseException')
        self.cbor('DeregisterStreamConsumer', {'ConsumerARN': carn})
        self.cbor('DeregisterStreamConsumer', {'StreamARN': arn, 'ConsumerName': 'c2'})
        deadline = time.time() + 10
        while True:
            lst = self.cbor('ListStreamConsumers', {'StreamARN': arn}, allow_empty=False)
            if not lst['Consumers']:
                break
            self.assertTrue(all(x['ConsumerStatus'] == 'DELETING' for x in lst['Consumers']), lst)
            self.assertLess(time.time(), deadline, 'consumers still listed 10 s after deregistration')
            time.sleep(0.02)
        self.cbor_error('DescribeStreamConsumer', {'ConsumerARN': carn}, 'ResourceNotFoundException')


# ---------------------------------------------------------------------------
# 5. Wire-format details: indefinite lengths, errors
# ---------------------------------------------------------------------------

class TestWireFormat(Base):

    def test_indefinite_length_requests(self):
        name = h.unique_name('cb-indef')
        # CreateStream: indefinite map, chunked StreamName, indefinite Tags map with chunked values
        half = len(name) // 2
        self.cbor('CreateStream', Indef({'StreamName': Indef([name[:half], name[half:]], 'text'),
                                         'ShardCount': 1,
                                         'Tags': Indef({'in': Indef(['de', 'f'], 'text')})}))
        self.addCleanup(self._delete_quietly, name)
        self.wait_active(name)
        tags = self.cbor('ListTagsForStream', Indef({'StreamName': name}), allow_empty=False)
        self.assertEqual(tags['Tags'], [{'Key': 'in', 'Value': 'def'}])

        # PutRecord: chunked byte string holding zeros and 0xff, chunk boundaries included
        chunks = [b'\x00\xff', b'', b'\xff\x00' * 10, bytes(range(256))]
        pr = self.cbor('PutRecord', Indef({'StreamName': name, 'PartitionKey': Indef(['p', 'k', '1'], 'text'),
                                           'Data': Indef(chunks, 'bytes')}), allow_empty=False)
        self.assertRegex(pr['SequenceNumber'], SEQ_PATTERN)

        # PutRecords: indefinite array of indefinite maps
        recs = Indef([Indef({'PartitionKey': 'pk2', 'Data': Indef([b'\x00', b'\x01\xff'], 'bytes')}),
                      {'PartitionKey': Indef(['pk', '3'], 'text'), 'Data': b'plain'}])
        rr = self.cbor('PutRecords', Indef({'StreamName': name, 'Records': recs}), allow_empty=False)
        self.assertEqual(rr['FailedRecordCount'], 0)
        self.assertEqual(len(rr['Records']), 2)

        # EnableEnhancedMonitoring: indefinite list of strings
        r = self.cbor('EnableEnhancedMonitoring', Indef({'StreamName': name,
                                                         'ShardLevelMetrics': Indef(['IncomingBytes'])}),
                      allow_empty=False)
        self.assertEqual(r['DesiredShardLevelMetrics'], ['IncomingBytes'])
        self.wait_active(name)

        # GetShardIterator with an indefinite map and a tag-1 timestamp; GetRecords with an indefinite map
        it = self.cbor('GetShardIterator', Indef({'StreamName': name, 'ShardId': Indef(['shardId-', '000000000000'], 'text'),
                                                  'ShardIteratorType': 'AT_TIMESTAMP',
                                                  'Timestamp': ms(now_ms() - 60000)}),
                       allow_empty=False)['ShardIterator']
        got = self.cbor('GetRecords', Indef({'ShardIterator': it}), allow_empty=False)['Records']
        self.assertEqual([(x['PartitionKey'], x['Data']) for x in got],
                         [('pk1', b''.join(chunks)), ('pk2', b'\x00\x01\xff'), ('pk3', b'plain')])
        self.assertEqual([x['SequenceNumber'] for x in got],
                         [pr['SequenceNumber']] + [x['SequenceNumber'] for x in rr['Records']])

        # a ~1 MB blob in 1000 chunks, as a streaming encoder would write it
        big = os.urandom(1000 * 1000)
        bp = self.cbor('PutRecord', {'StreamName': name, 'PartitionKey': 'chunky',
                                     'Data': Indef([big[i:i + 1000] for i in range(0, len(big), 1000)], 'bytes')},
                       allow_empty=False)
        back = self.read(name, h.shard_id(0), 'AT_SEQUENCE_NUMBER', StartingSequenceNumber=bp['SequenceNumber'])
        self.assertEqual(len(back), 1)
        self.assertTrue(back[0]['Data'] == big, 'the 1000-chunk blob came back altered')

        # Non-minimal integer heads are still integers (Jackson writes minimal ones, others may not)
        body = (b'\xa2' + cbor_dumps('StreamName') + cbor_dumps(name) + cbor_dumps('Limit') + b'\x1b' +
                struct.pack('>Q', 1))
        resp = self.call_raw('DescribeStream', body)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(len(cbor_loads(resp.body)['StreamDescription']['Shards']), 1)

    def test_errors_are_cbor(self):
        with self.subTest('unknown stream -> ResourceNotFoundException'):
            missing = h.unique_name('cb-missing')
            for op, req in (('DescribeStream', {'StreamName': missing}),
                            ('DescribeStreamSummary', {'StreamName': missing}),
                            ('PutRecord', {'StreamName': missing, 'PartitionKey': 'k', 'Data': b'\x00'}),
                            ('DeleteStream', {'StreamName': missing})):
                err = self.cbor_error(op, req, 'ResourceNotFoundException', message=not_found(missing),
                                      message_key='message')
                self.assertEqual(set(err), {'__type', 'message'}, err)

        with self.subTest('ShardCount 0 -> ValidationException'):
            self.cbor_error('CreateStream', {'StreamName': h.unique_name('cb-zero'), 'ShardCount': 0},
                            'ValidationException',
                            message="1 validation error detected: Value '0' at 'shardCount' failed to satisfy "
                                    "constraint: Member must have value greater than or equal to 1",
                            message_key='message')

        with self.subTest('string for an integer -> SerializationException with Message'):
            err = self.cbor_error('CreateStream', {'StreamName': h.unique_name('cb-str'), 'ShardCount': '1'},
                                  'SerializationException', message_key='Message',
                                  message='class java.lang.String can not be converted to an Integer')
            self.assertNotIn('message', err)

        with self.subTest('number where a blob is expected -> SerializationException'):
            # type checks come before semantics (section 1 step 6), so the missing stream does not matter
            self.cbor_error('PutRecord', {'StreamName': h.unique_name('cb-blob'), 'PartitionKey': 'k', 'Data': 5},
                            'SerializationException', message_key='Message')

        with self.subTest('boolean for an integer -> SerializationException'):
            self.cbor_error('CreateStream', {'StreamName': h.unique_name('cb-bool'), 'ShardCount': True},
                            'SerializationException', message_key='Message',
                            message='class java.lang.Boolean can not be converted to an Integer')

        # the section 2.1 table, with CBOR values of the wrong major type (texts as recorded for JSON)
        name = h.unique_name('cb-types')
        it_req = {'StreamName': name, 'ShardId': h.shard_id(0), 'ShardIteratorType': 'AT_TIMESTAMP'}
        wrong_types = [
            ('DescribeStream', {'StreamName': {}}, 'Start of structure or map found where not expected.'),
            ('DescribeStream', {'StreamName': []}, 'Start of list found where not expected'),
            ('DescribeStream', {'StreamName': True}, 'class java.lang.Boolean can not be converted to an String'),
            ('DescribeStream', {'StreamName': 5},
             'class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String'),
            ('AddTagsToStream', {'StreamName': name, 'Tags': 'x'}, 'Expected map or null'),
            ('PutRecords', {'StreamName': name, 'Records': 5}, 'Expected list or null'),
            ('ListShards', {'StreamName': name, 'ShardFilter': 'x'}, 'Expected null'),
            ('GetShardIterator', dict(it_req, Timestamp='x'),
             'class java.lang.String can not be converted to milliseconds since epoch'),
            ('GetShardIterator', dict(it_req, Timestamp=False),
             'class java.lang.Boolean can not be converted to milliseconds since epoch'),
        ]
        for op, req, text in wrong_types:
            with self.subTest('wrong CBOR type', op=op, request=repr(req)):
                self.cbor_error(op, req, 'SerializationException', message=text, message_key='Message')

        with self.subTest('CBOR null counts as absent'):
            self.cbor_error('CreateStream', {'StreamName': None, 'ShardCount': 1}, 'ValidationException',
                            message="1 validation error detected: Value null at 'streamName' failed to satisfy "
                                    "constraint: Member must not be null")
            self.cbor_error('DescribeStream', {'StreamName': name, 'Limit': None, 'ExclusiveStartShardId': None},
                            'ResourceNotFoundException', message=not_found(name))

        not_cbor = [
            ('JSON text', b'{"StreamName": "x"}'),
            ('break byte', b'\xff'),
            ('truncated map', b'\xa1\x6aStreamName'),
            ('trailing garbage', cbor_dumps({'StreamName': 'x'}) + b'\x00'),
            ('array, not a map', cbor_dumps(['StreamName', 'x'])),
            ('integer, not a map', cbor_dumps(7)),
            ('invalid UTF-8 in text', b'\xa1\x6aStreamName\x62\xc3\x28'),
            ('unterminated indefinite map', b'\xbf\x6aStreamName\x62s1'),
            ('text length beyond the body', b'\xa1\x6aStreamName\x7b\xff\xff\xff\xff\xff\xff\xff\xff'),
            ('byte-string length beyond the body', b'\xa1\x6aStreamName\x5b\x7f\xff\xff\xff\xff\xff\xff\xff'),
            ('map count beyond the body', b'\xbb\x7f\xff\xff\xff\xff\xff\xff\xff'),
            ('100000 nested arrays', b'\x81' * 100000),
            ('100000 nested indefinite arrays', b'\x9f' * 100000),
        ]
        for label, body in not_cbor:
            with self.subTest('not a CBOR map: ' + label):
                resp = self.call_raw('DescribeStream', body)
                err = self.check_error(resp, label, 'SerializationException')
                self.assertEqual(err, {'__type': 'SerializationException'},
                                 'a body that is not a CBOR map gives SerializationException without a message')

        self.assertTrue(self.server.is_alive(), 'server died on malformed CBOR')
        self.cbor('DescribeLimits', {}, allow_empty=False)

        with self.subTest('empty body -> 400 CBOR SerializationException'):
            resp = cbor_raw(self.server, 'DescribeStream', b'')
            err = self.check_error(resp, 'empty body', 'SerializationException')
            self.assertNotIn('message', err)

        with self.subTest('unknown operation -> UnknownOperationException (CBOR)'):
            resp = cbor_raw(self.server, 'NoSuchOperation', cbor_dumps({}))
            self.check_error(resp, 'unknown op', 'UnknownOperationException')
            resp = cbor_raw(self.server, 'NoSuchOperation', b'')
            self.check_error(resp, 'unknown op, empty body', 'UnknownOperationException')

        with self.subTest('content-type parameters are ignored'):
            resp = cbor_raw(self.server, 'DescribeLimits', cbor_dumps({}),
                            content_type=CBOR_CT + '; charset=utf-8')
            self.assertEqual(resp.status, 200, resp)
            self.assertEqual(media_type(resp), CBOR_CT)
            self.assertIsInstance(cbor_loads(resp.body)['ShardLimit'], int)

        with self.subTest('missing auth -> MissingAuthenticationTokenException (CBOR)'):
            headers = h.kinesis_headers('DescribeLimits', content_type=CBOR_CT, auth=False)
            resp = h.raw_request(self.server, 'POST', '/', headers, cbor_dumps({}))
            self.check_error(resp, 'no auth', 'MissingAuthenticationTokenException', message='Missing Authentication Token')

    def test_json_and_cbor_agree_on_a_stream(self):
        """The same stream read through both protocols gives the same values (modulo encodings)."""
        name = self.new_stream(2, 'cb-agree')
        put = self.put(name, 'agree', b'\x00\x01\xfe\xff')
        jput = json_of(h.kinesis_call(self.server, 'PutRecord', {'StreamName': name, 'PartitionKey': 'agree',
                                                                 'Data': h.b64(b'\x00\x01\xfe\xff')}))
        self.assertEqual(put['ShardId'], jput['ShardId'])
        self.assertLess(int(put['SequenceNumber']), int(jput['SequenceNumber']))
        cdesc = self.cbor('DescribeStream', {'StreamName': name}, allow_empty=False)['StreamDescription']
        jdesc = self.json('DescribeStream', {'StreamName': name})['StreamDescription']
        for key in set(cdesc) | set(jdesc):
            if key == 'StreamCreationTimestamp':
                self.assertLessEqual(abs(jdesc[key] * 1000 - cdesc[key].value), 1000)
            else:
                self.assertEqual(cdesc.get(key), jdesc.get(key), key)
        recs = self.read(name, put['ShardId'])
        self.assertEqual([r['Data'] for r in recs], [b'\x00\x01\xfe\xff'] * 2)


if __name__ == '__main__':
    unittest.main()
