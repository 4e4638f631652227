#!/usr/bin/env python3
"""Push latency of the WebSocket tail (issue 18): PutRecord sent -> the record received by a
/_cinesis/ws tail client, on loopback. Prints p50/p90/p99 in milliseconds.

  bench/push_latency.py [--endpoint 127.0.0.1:4567 | --bin build/release/apps/cinesis/cinesis]
                        [--count 2000] [--durable]

With --bin it starts its own server (in memory, or --durable: a temporary data directory with
fsync always). Each PutRecord is sent only after the previous record arrived, so the numbers
are single-record latencies (the client's own costs included: one HTTP request, one WebSocket
message parse in Python).
"""

import argparse
import base64
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'integration'))
from wsclient import WsClient  # noqa: E402

HEADERS = {'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Date': '20240101T000000Z',
           'Authorization': 'AWS4-HMAC-SHA256 Credential=x/20240101/us-east-1/kinesis/aws4_request, '
                            'SignedHeaders=host, Signature=0'}


def call(conn, op, payload):
    h = dict(HEADERS)
    h['X-Amz-Target'] = 'Kinesis_20131202.' + op
    conn.request('POST', '/', body=json.dumps(payload), headers=h)
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise RuntimeError('%s: %d %s' % (op, r.status, body[:200]))
    return json.loads(body) if body else {}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--endpoint')
    ap.add_argument('--bin')
    ap.add_argument('--count', type=int, default=2000)
    ap.add_argument('--durable', action='store_true')
    args = ap.parse_args()
    proc = None
    tmp = None
    if args.bin:
        cmd = [args.bin, 'serve', '--port', '0', '--create-stream-ms', '0', '--log-level', 'warn']
        if args.durable:
            tmp = tempfile.mkdtemp(prefix='cinesis-pushlat-')
            cmd += ['--data-dir', tmp]
        else:
            cmd += ['--in-memory']
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
        line = proc.stdout.readline().decode()
        host, port = line.split()[-1].rsplit(':', 1)
    else:
        host, port = (args.endpoint or '127.0.0.1:4567').rsplit(':', 1)
    port = int(port)
    try:
        conn = http.client.HTTPConnection(host, port)
        name = 'pushlat-%d' % os.getpid()
        call(conn, 'CreateStream', {'StreamName': name, 'ShardCount': 1})
        while call(conn, 'DescribeStreamSummary', {'StreamName': name})['StreamDescriptionSummary']['StreamStatus'] != 'ACTIVE':
            time.sleep(0.05)
        ws = WsClient(host, port)
        ws.send({'op': 'tail', 'id': 't', 'stream': name, 'from': 'LATEST'})
        time.sleep(0.2)
        data = base64.b64encode(b'x' * 100).decode()
        lat = []
        for i in range(args.count + 100):
            t0 = time.perf_counter()
            h = dict(HEADERS)
            h['X-Amz-Target'] = 'Kinesis_20131202.PutRecord'
            conn.request('POST', '/', body=json.dumps({'StreamName': name, 'PartitionKey': 'k', 'Data': data}), headers=h)
            # The record may arrive on the socket before the PutRecord answer is read.
            m = ws.recv()
            t1 = time.perf_counter()
            r = conn.getresponse()
            r.read()
            assert m['type'] == 'records' and len(m['records']) == 1, m
            if i >= 100:  # warm-up
                lat.append((t1 - t0) * 1000)
        lat.sort()
        pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
        print('push latency (PutRecord -> WebSocket tail), %d records, %s: p50 %.3f ms, p90 %.3f ms, p99 %.3f ms'
              % (len(lat), 'durable, fsync always' if args.durable else 'in memory', pick(0.5), pick(0.9), pick(0.99)))
        ws.close()
    finally:
        if proc:
            proc.terminate()
            proc.wait(10)
        if tmp:
            shutil.rmtree(tmp, True)


if __name__ == '__main__':
    main()
