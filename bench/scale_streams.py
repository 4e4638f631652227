#!/usr/bin/env python3
"""Scale in streams and shards (issue 19 item 5), run by bench/scale_streams.sh.

Two fresh servers, one after the other (durable by default, each on a new data directory):
  streams: STREAMS streams of one shard each;
  shards:  one stream of SHARDS shards.
For each: the time to create them (per-call p50/p99 of the first and the last 100 calls for
the streams, so that a cost growing with the streams already there shows), idle RSS per shard
(RSS after creating minus RSS of the empty server, over the shards), restart time (start to the
first answered request, with the streams loaded) and RSS after the restart. Then the calls
that touch few shards, timed at the start and at the end of the range, so that a cost growing
with the total shows: ListStreams / ListShards paging over everything, DescribeStreamSummary,
GetShardIterator, PutRecord, and PutRecords of 500 records spread over all shards against 500
records on one shard.

Requests are plain JSON over HTTP/1.1 keep-alive (the server runs with --auth off), one
connection: the figures are per-call latencies, not throughput.
"""
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

CINESIS = os.environ["CINESIS"]
STREAMS = int(os.environ.get("STREAMS", "10000"))
SHARDS = int(os.environ.get("SHARDS", "10000"))
IN_MEMORY = os.environ.get("IN_MEMORY", "0") == "1"
FSYNC = os.environ.get("FSYNC", "always")  # durable storage: always or never
OUT = os.environ.get("OUT", ".")
# --auth off checks no signature, but a request must carry one (as AWS's do).
AUTH = {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" +
        time.strftime("%Y%m%d", time.gmtime()) + "/us-east-1/kinesis/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + "0" * 64,
        "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())}


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Server:
    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.proc = None
        self.conn = None

    def start(self):
        args = [CINESIS, "serve", "--port", "0", "--create-stream-ms", "0", "--log-level", "warn",
                "--shard-limit", str(max(STREAMS, SHARDS) + 100)]
        args += ["--in-memory"] if IN_MEMORY else ["--data-dir", self.data_dir, "--fsync", FSYNC]
        t0 = time.monotonic()
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=open(
            os.path.join(OUT, "server.err"), "a"), text=True)
        port = None
        for line in self.proc.stdout:
            if line.startswith("cinesis listening on "):
                port = int(line.rsplit(":", 1)[1])
                break
        if port is None:
            raise SystemExit("server did not start")
        self.conn = http.client.HTTPConnection("127.0.0.1", port)
        self.call("ListStreams", {"Limit": 1})
        return (time.monotonic() - t0) * 1000

    def stop(self):
        self.conn.close()
        self.proc.terminate()
        self.proc.wait()

    def call(self, op, body):
        data = json.dumps(body)
        self.conn.request("POST", "/", data, {
            "X-Amz-Target": "Kinesis_20131202." + op,
            "Content-Type": "application/x-amz-json-1.1", **AUTH})
        r = self.conn.getresponse()
        text = r.read()
        if r.status != 200:
            raise RuntimeError(f"{op}: HTTP {r.status}: {text[:300]!r}")
        return json.loads(text) if text else {}

    def timed(self, op, body):
        t0 = time.perf_counter()
        out = self.call(op, body)
        return (time.perf_counter() - t0) * 1000, out

    def rss_kb(self):
        time.sleep(1)
        return rss_kb(self.proc.pid)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]


def summary(xs):
    return {"p50": round(statistics.median(xs), 3), "p99": round(pct(xs, 99), 3),
            "n": len(xs)}


def restart(server, runs=3):
    times, rss = [], []
    for _ in range(runs):
        server.stop()
        times.append(server.start())
        rss.append(server.rss_kb())
    return {"ready_ms": round(statistics.median(times), 1), "rss_kb": statistics.median(rss)}


def hash_key_of(i, n):
    return str((2**128 - 1) * (2 * i + 1) // (2 * n))  # the middle of shard i's range


def scenario_streams(server):
    res = {}
    empty = server.rss_kb()
    res["empty_rss_kb"] = empty
    times = []
    t0 = time.monotonic()
    for i in range(STREAMS):
        ms, _ = server.timed("CreateStream", {"StreamName": f"s{i:05d}", "ShardCount": 1})
        times.append(ms)
    res["create_total_s"] = round(time.monotonic() - t0, 2)
    res["create_first100"] = summary(times[:100])
    res["create_last100"] = summary(times[-100:])
    full = server.rss_kb()
    res["rss_kb"] = full
    res["rss_per_shard_b"] = round((full - empty) * 1024 / STREAMS)
    # ListStreams over everything, 100 a page (each page's time: the first and last pages).
    pages, token = [], None
    t0 = time.monotonic()
    while True:
        body = {"NextToken": token} if token else {"Limit": 100}
        ms, out = server.timed("ListStreams", body)
        pages.append(ms)
        token = out.get("NextToken")
        if not out.get("HasMoreStreams") or not token:
            break
    res["list_streams"] = {"pages": len(pages), "total_ms": round((time.monotonic() - t0) * 1000, 1),
                           "first10": summary(pages[:10]), "last10": summary(pages[-10:])}
    names = [f"s{i:05d}" for i in random.Random(1).sample(range(STREAMS), 200)]
    res["describe_summary"] = summary(
        [server.timed("DescribeStreamSummary", {"StreamName": n})[0] for n in names])
    res["put_record"] = summary(
        [server.timed("PutRecord", {"StreamName": n, "Data": "eA==", "PartitionKey": "k"})[0]
         for n in names])
    res["get_shard_iterator"] = summary(
        [server.timed("GetShardIterator", {"StreamName": n, "ShardId": "shardId-000000000000",
                                           "ShardIteratorType": "TRIM_HORIZON"})[0] for n in names])
    res["restart"] = restart(server)
    res["restart"]["rss_per_shard_b"] = round((res["restart"]["rss_kb"] - empty) * 1024 / STREAMS)
    return res


def scenario_shards(server):
    res = {}
    empty = server.rss_kb()
    res["empty_rss_kb"] = empty
    ms, _ = server.timed("CreateStream", {"StreamName": "big", "ShardCount": SHARDS})
    res["create_ms"] = round(ms, 1)
    full = server.rss_kb()
    res["rss_kb"] = full
    res["rss_per_shard_b"] = round((full - empty) * 1024 / SHARDS)
    for page_size in (1000, 100):
        pages, token = [], None
        t0 = time.monotonic()
        while True:
            body = {"NextToken": token} if token else {"StreamName": "big", "MaxResults": page_size}
            if token:
                body["MaxResults"] = page_size
            ms, out = server.timed("ListShards", body)
            pages.append(ms)
            token = out.get("NextToken")
            if not token:
                break
        res[f"list_shards_{page_size}"] = {
            "pages": len(pages), "total_ms": round((time.monotonic() - t0) * 1000, 1),
            "first": summary(pages[:max(1, len(pages) // 10)]),
            "last": summary(pages[-max(1, len(pages) // 10):])}
    res["describe_summary"] = summary(
        [server.timed("DescribeStreamSummary", {"StreamName": "big"})[0] for _ in range(50)])
    rnd = random.Random(2)
    shards = rnd.sample(range(SHARDS), 200)
    res["get_shard_iterator"] = summary(
        [server.timed("GetShardIterator", {"StreamName": "big", "ShardId": f"shardId-{i:012d}",
                                           "ShardIteratorType": "LATEST"})[0] for i in shards])
    res["put_record"] = summary(
        [server.timed("PutRecord", {"StreamName": "big", "Data": "eA==", "PartitionKey": "k",
                                    "ExplicitHashKey": hash_key_of(i, SHARDS)})[0] for i in shards])
    data = "A" * 136  # 100 bytes of Base64
    spread, one = [], []
    for b in range(40):
        recs = [{"Data": data, "PartitionKey": "k",
                 "ExplicitHashKey": hash_key_of(rnd.randrange(SHARDS), SHARDS)} for _ in range(500)]
        spread.append(server.timed("PutRecords", {"StreamName": "big", "Records": recs})[0])
        recs = [{"Data": data, "PartitionKey": "k", "ExplicitHashKey": hash_key_of(7, SHARDS)}
                for _ in range(500)]
        one.append(server.timed("PutRecords", {"StreamName": "big", "Records": recs})[0])
    res["put_records_500_spread"] = summary(spread)
    res["put_records_500_one_shard"] = summary(one)
    res["restart"] = restart(server)
    res["restart"]["rss_per_shard_b"] = round((res["restart"]["rss_kb"] - empty) * 1024 / SHARDS)
    return res


def main():
    which = sys.argv[1:] or ["streams", "shards"]
    results = {}
    for name in which:
        data_dir = tempfile.mkdtemp(prefix=f"cinesis-scale-{name}.")
        server = Server(data_dir)
        try:
            server.start()
            results[name] = (scenario_streams if name == "streams" else scenario_shards)(server)
        finally:
            server.stop()
            shutil.rmtree(data_dir, ignore_errors=True)
        print(json.dumps({name: results[name]}), file=sys.stderr)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
