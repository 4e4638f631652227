#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz harnesses (fuzz/corpus/<harness>/seed-*): valid inputs
of each shape, built here from the formats' definitions. Inputs that once crashed a harness
live beside them as crash-* files, written by hand, never by this script.
Run from anywhere: python3 fuzz/make_corpus.py"""
import hashlib
import json
import os
import struct
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(harness, name, data):
    d = os.path.join(ROOT, harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/s"
REQUESTS = {
    "CreateStream": {"StreamName": "s", "ShardCount": 2},
    "CreateStream-ondemand": {"StreamName": "s", "StreamModeDetails": {"StreamMode": "ON_DEMAND"},
                              "Tags": {"k": "v"}},
    "DeleteStream": {"StreamName": "s", "EnforceConsumerDeletion": True},
    "DescribeStream": {"StreamName": "s", "Limit": 10, "ExclusiveStartShardId": "shardId-000000000000"},
    "DescribeStreamSummary": {"StreamARN": ARN},
    "ListStreams": {"Limit": 5, "ExclusiveStartStreamName": "a", "NextToken": "AAAA"},
    "ListShards": {"StreamName": "s", "ShardFilter": {"Type": "AT_TIMESTAMP", "Timestamp": 1700000000.5},
                   "MaxResults": 100},
    "PutRecord": {"StreamName": "s", "PartitionKey": "k", "Data": "aGVsbG8=",
                  "ExplicitHashKey": "170141183460469231731687303715884105728",
                  "SequenceNumberForOrdering": "49590338271490256608559692538361571095921575989136588898"},
    "PutRecords": {"StreamName": "s", "Records": [{"PartitionKey": "a", "Data": "eA=="},
                                                   {"PartitionKey": "b", "Data": "", "ExplicitHashKey": "0"}]},
    "GetShardIterator": {"StreamName": "s", "ShardId": "shardId-000000000001",
                         "ShardIteratorType": "AT_SEQUENCE_NUMBER",
                         "StartingSequenceNumber": "49590338271490256608559692538361571095921575989136588898"},
    "GetShardIterator-time": {"StreamARN": ARN, "ShardId": "1", "ShardIteratorType": "AT_TIMESTAMP",
                              "Timestamp": "2024-01-01T00:00:00Z"},
    "GetRecords": {"ShardIterator": "AAAAAAAAAAFGU/kLvNggvndHq2UjFOLEF6LGEXAMPLE", "Limit": 100},
    "IncreaseStreamRetentionPeriod": {"StreamName": "s", "RetentionPeriodHours": 48},
    "SplitShard": {"StreamName": "s", "ShardToSplit": "shardId-000000000000",
                   "NewStartingHashKey": "100"},
    "MergeShards": {"StreamName": "s", "ShardToMerge": "shardId-000000000000",
                    "AdjacentShardToMerge": "shardId-000000000001"},
    "UpdateShardCount": {"StreamName": "s", "TargetShardCount": 4, "ScalingType": "UNIFORM_SCALING"},
    "AddTagsToStream": {"StreamName": "s", "Tags": {"a": "1", "b": ""}},
    "RemoveTagsFromStream": {"StreamName": "s", "TagKeys": ["a"]},
    "ListTagsForStream": {"StreamName": "s", "Limit": 10},
    "TagResource": {"ResourceARN": ARN, "Tags": {"a": "b"}},
    "StartStreamEncryption": {"StreamName": "s", "EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"},
    "EnableEnhancedMonitoring": {"StreamName": "s", "ShardLevelMetrics": ["ALL"]},
    "DescribeLimits": {},
    "UpdateStreamMode": {"StreamARN": ARN, "StreamModeDetails": {"StreamMode": "PROVISIONED"}},
    "PutResourcePolicy": {"ResourceARN": ARN, "Policy": "{}"},
    "RegisterStreamConsumer": {"StreamARN": ARN, "ConsumerName": "c"},
    "ListStreamConsumers": {"StreamARN": ARN, "StreamCreationTimestamp": 1700000000},
    "SubscribeToShard": {"ConsumerARN": ARN + "/consumer/c:1700000000", "ShardId": "shardId-000000000000",
                         "StartingPosition": {"Type": "AT_SEQUENCE_NUMBER", "SequenceNumber": "1"}},
    "UpdateMaxRecordSize": {"StreamARN": ARN, "MaxRecordSizeInKiB": 2048},
}
BLOBS = {"Data"}
TIMESTAMPS = {"Timestamp", "StreamCreationTimestamp"}


# ---- CBOR (RFC 8949), enough for request documents ----
def cbor_head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for ai, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        if n < 1 << (8 * struct.calcsize(fmt)):
            return bytes([major << 5 | ai]) + struct.pack(fmt, n)
    raise ValueError(n)


def cbor(v, key=None):
    import base64
    if key in BLOBS and isinstance(v, str):
        b = base64.b64decode(v)
        return cbor_head(2, len(b)) + b
    if key in TIMESTAMPS and isinstance(v, (int, float)):
        return b"\xc1" + cbor(int(v * 1000))
    if v is True:
        return b"\xf5"
    if v is False:
        return b"\xf4"
    if v is None:
        return b"\xf6"
    if isinstance(v, int):
        return cbor_head(0, v) if v >= 0 else cbor_head(1, -1 - v)
    if isinstance(v, float):
        return b"\xfb" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode()
        return cbor_head(3, len(b)) + b
    if isinstance(v, list):
        return cbor_head(4, len(v)) + b"".join(cbor(x, key) for x in v)
    if isinstance(v, dict):
        return cbor_head(5, len(v)) + b"".join(cbor(k) + cbor(x, k) for k, x in v.items())
    raise TypeError(v)


def api_seeds():
    for name, doc in REQUESTS.items():
        op = name.split("-")[0]
        write("api_json", name, op + "\n" + json.dumps(doc))
        write("api_cbor", name, op.encode() + b"\n" + cbor(doc))
    # Shapes the decoders must refuse without trouble.
    write("api_json", "deep", "ListStreams\n" + "[" * 200 + "]" * 200)
    write("api_json", "not-object", "ListStreams\n[1,2]")
    write("api_cbor", "indefinite", b"PutRecords\n\xbf\x67Records\x9f\xbf\x64Data\x5f\x41x\xff"
          b"\x6cPartitionKey\x61k\xff\xff\x6aStreamName\x61s\xff")
    # A count far above the bytes left (65,536 items in 5 bytes; issue 17 item 1 is the 2^27 one).
    write("api_cbor", "big-declared", b"ListStreams\n\x9a\x00\x01\x00\x00")
    write("api_cbor", "tag-float", b"ListShards\n\xa1\x6aStreamName\xc1\xfb\x41\xd9\x4c\x2e\x3e\x00\x00\x00")


# ---- event stream ----
def es_message(headers, payload):
    hb = b""
    for n, v in headers:
        nb, vb = n.encode(), v.encode()
        hb += bytes([len(nb)]) + nb + b"\x07" + struct.pack(">H", len(vb)) + vb
    total = 12 + len(hb) + len(payload) + 4
    prelude = struct.pack(">II", total, len(hb))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    msg = prelude + hb + payload
    return msg + struct.pack(">I", zlib.crc32(msg))


def event(kind, payload):
    return es_message([(":message-type", "event"), (":event-type", kind),
                       (":content-type", "application/json")], payload.encode())


def eventstream_seeds():
    init = event("initial-response", "{}")
    ev = event("SubscribeToShardEvent", json.dumps({
        "Records": [{"SequenceNumber": "1", "ApproximateArrivalTimestamp": 1700000000.0,
                     "Data": "aGk=", "PartitionKey": "k"}],
        "ContinuationSequenceNumber": "1", "MillisBehindLatest": 0}))
    exc = es_message([(":message-type", "exception"), (":exception-type", "ResourceNotFoundException"),
                      (":content-type", "application/json")], b'{"message":"x"}')
    write("eventstream", "initial", init)
    write("eventstream", "event", ev)
    write("eventstream", "stream", init + ev + ev + exc)
    write("eventstream", "empty", es_message([], b""))
    write("eventstream", "torn", init + ev[:20])


# ---- HTTP/1.1 ----
def http1_request(op, body, extra=""):
    return ("POST / HTTP/1.1\r\nHost: 127.0.0.1:4567\r\n"
            "Content-Type: application/x-amz-json-1.1\r\nX-Amz-Target: Kinesis_20131202." + op + "\r\n"
            "X-Amz-Date: 20240101T000000Z\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKID/20240101/"
            "us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00\r\n" + extra +
            "Content-Length: %d\r\n\r\n" % len(body) + body)


def http1_seeds():
    put = json.dumps(REQUESTS["PutRecord"])
    write("http1", "put", http1_request("PutRecord", put))
    write("http1", "pipelined", http1_request("ListStreams", "{}") + http1_request("PutRecords", json.dumps(REQUESTS["PutRecords"])))
    body = "{}"
    write("http1", "chunked",
          "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-amz-json-1.1\r\n"
          "X-Amz-Target: Kinesis_20131202.ListStreams\r\nX-Amz-Date: 20240101T000000Z\r\n"
          "Authorization: AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=0\r\n"
          "Transfer-Encoding: chunked\r\n\r\n2\r\n" + body + "\r\n0\r\n\r\n")
    write("http1", "te-gzip",
          "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n")
    write("http1", "preflight",
          "OPTIONS / HTTP/1.1\r\nHost: h\r\nOrigin: http://x\r\nAccess-Control-Request-Method: POST\r\n"
          "Access-Control-Request-Headers: x-amz-target\r\n\r\n")
    write("http1", "get", "GET /?Action=ListStreams HTTP/1.0\r\n\r\n")
    write("http1", "upgrade",
          "POST / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
          "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nContent-Type: application/x-amz-json-1.1\r\n"
          "X-Amz-Target: Kinesis_20131202.ListStreams\r\nContent-Length: 2\r\n\r\n{}" +
          h2_frames_text())
    write("http1", "cbor", http1_request("ListStreams", "", "").replace(
        "application/x-amz-json-1.1", "application/x-amz-cbor-1.1"))


# ---- HTTP/2 (frames after the preface, which the harness adds) ----
def hpack_int(value, prefix_bits, first):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    out.append(value)
    return bytes(out)


def hpack(headers):
    out = b""
    for n, v in headers:  # literal without indexing, new name, no Huffman
        out += b"\x00" + hpack_int(len(n), 7, 0) + n.encode() + hpack_int(len(v), 7, 0) + v.encode()
    return out


def frame(ftype, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


SETTINGS = frame(4, 0, 0, struct.pack(">HI", 3, 100) + struct.pack(">HI", 4, 65535))


def h2_request(stream, op, body, ctype="application/x-amz-json-1.1"):
    hdrs = [(":method", "POST"), (":scheme", "http"), (":path", "/"), (":authority", "127.0.0.1"),
            ("content-type", ctype), ("x-amz-target", "Kinesis_20131202." + op),
            ("x-amz-date", "20240101T000000Z"),
            ("authorization", "AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=0")]
    if not body:
        return frame(1, 0x5, stream, hpack(hdrs))
    return frame(1, 0x4, stream, hpack(hdrs)) + frame(0, 0x1, stream, body)


def h2_frames_text():
    return ""  # the upgrade seed ends with its request; the rest of the connection is empty


def http2_seeds():
    write("http2", "put", SETTINGS + h2_request(1, "PutRecord", json.dumps(REQUESTS["PutRecord"]).encode()))
    write("http2", "two-streams", SETTINGS + frame(4, 1, 0, b"") +
          h2_request(1, "ListStreams", b"{}") + h2_request(3, "PutRecords", json.dumps(REQUESTS["PutRecords"]).encode()) +
          frame(8, 0, 0, struct.pack(">I", 1 << 20)) + frame(6, 0, 0, b"12345678"))
    write("http2", "cbor", SETTINGS + h2_request(1, "PutRecords", cbor(REQUESTS["PutRecords"]),
                                                   "application/x-amz-cbor-1.1"))
    write("http2", "reset", SETTINGS + frame(1, 0x4, 1, hpack([(":method", "POST"), (":path", "/"),
                                                              (":scheme", "http")])) +
          frame(3, 0, 1, struct.pack(">I", 8)) + frame(7, 0, 0, struct.pack(">II", 1, 0)))
    write("http2", "no-body", SETTINGS + h2_request(1, "DescribeLimits", b""))
    write("http2", "continuation", SETTINGS +
          frame(1, 0x1, 1, hpack([(":method", "POST"), (":scheme", "http")])) +
          frame(9, 0x4, 1, hpack([(":path", "/"), ("x-amz-target", "Kinesis_20131202.ListStreams")])))


# ---- SigV4 ----
def sigv4_seeds():
    write("sigv4", "post", "POST\n/\n\nHost:kinesis.us-east-1.amazonaws.com\n"
          "Content-Type:application/x-amz-json-1.1\nX-Amz-Target:Kinesis_20131202.ListStreams\n\n{}")
    write("sigv4", "query", "GET\n/a/./b/../c//d%20e\nb=2&a=1&a=%41&c&&d=x=y&e=%zz+\nHost:h\n"
          "My-Header1:  a   b \nMy-Header1:c\n\n")
    write("sigv4", "authorization", "POST\n/\nX-Amz-Algorithm=AWS4-HMAC-SHA256\nHost:h\n"
          "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
          "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\n\n")
    write("sigv4", "obs-fold", "GET\n/\n\nHost:h\nMy-Header1:value1\n  value2\n     value3\n\n")
    # Presigned: the verifier reads the signature from the query string.
    write("sigv4", "presigned", "GET\n/\nAction=ListStreams&X-Amz-Algorithm=AWS4-HMAC-SHA256"
          "&X-Amz-Credential=AKIDEXAMPLE%2F20231114%2Fus-east-1%2Fkinesis%2Faws4_request"
          "&X-Amz-Date=20231114T221320Z&X-Amz-Expires=300&X-Amz-Security-Token=token"
          "&X-Amz-SignedHeaders=host&X-Amz-Signature=0123456789abcdef\nHost:h\n\n")


# ---- KPL aggregation ----
def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(num, data):
    return varint(num << 3 | 2) + varint(len(data)) + data


def field_varint(num, value):
    return varint(num << 3) + varint(value)


def aggregated(keys, ehks, records):
    body = b"".join(field(1, k.encode()) for k in keys) + b"".join(field(2, e.encode()) for e in ehks)
    for r in records:
        rec = field_varint(1, r[0])
        if r[1] is not None:
            rec += field_varint(2, r[1])
        rec += field(3, r[2])
        for tag in r[3] if len(r) > 3 else []:
            rec += field(4, field(1, tag.encode()) + field(2, b"v"))
        body += field(3, rec)
    return b"\xf3\x89\x9a\xc2" + body + hashlib.md5(body).digest()


def kpl_seeds():
    write("kpl_deaggregate", "one", aggregated(["k"], [], [(0, None, b"hello")]))
    write("kpl_deaggregate", "many", aggregated(["a", "b"], ["340282366920938463463374607431768211455"],
                                                [(0, None, b"x"), (1, 0, b""), (0, 0, b"yz" * 40, ["t"])]))
    write("kpl_deaggregate", "plain", b"just a record")


# ---- segments ----
def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def seg_frame(offset, arrival, key, ehk, data):
    body = struct.pack("<QqHHI", offset, arrival, len(key), len(ehk), len(data)) + key + ehk + data
    return struct.pack("<II", len(body), masked(crc32c(body))) + body


def segment(base, n, arrival=1700000000000):
    out = b"CNSSEG01" + struct.pack("<Q", base)
    positions = []
    for i in range(n):
        positions.append(len(out))
        out += seg_frame(base + i, arrival + i, b"k%d" % i, b"" if i % 2 else b"12345", b"data %d" % i)
    return out, positions


def index(entries, end_offset, segment_size, first, last):
    body = b"CNSIDX01" + b"".join(struct.pack("<QQq", *e) for e in entries)
    body += struct.pack("<QQqqQ", end_offset, segment_size, first, last, len(entries))
    return body + struct.pack("<I", masked(crc32c(body)))


def segment_seeds():
    seg0, pos0 = segment(0, 100)
    idx0 = index([(0, pos0[0], 1700000000000), (50, pos0[50], 1700000000050)], 100, len(seg0),
                 1700000000000, 1700000000099)
    seg1, pos1 = segment(100, 5, 1700000001000)
    write("segment_recovery", "one-segment", segment(0, 3)[0])
    write("segment_recovery", "torn-tail", segment(0, 3)[0][:-5])
    write("segment_recovery", "sealed-and-active", seg0 + b"CUT!" + idx0 + b"CUT!" + seg1)
    write("segment_recovery", "checkpoint", seg0 + b"CUT!" + idx0 + b"CUT!" + seg1 + b"CUT!" +
          index([(100, pos1[0], 1700000001000)], 105, len(seg1), 1700000001000, 1700000001004) +
          b"CUT!" + b'{"name":"s"}')
    damaged = bytearray(segment(0, 6)[0])
    damaged[60] ^= 0xFF
    write("segment_recovery", "damaged-middle", bytes(damaged))
    write("segment_recovery", "empty-files", b"CUT!CUT!CUT!")


if __name__ == "__main__":
    api_seeds()
    eventstream_seeds()
    http1_seeds()
    http2_seeds()
    sigv4_seeds()
    kpl_seeds()
    segment_seeds()
