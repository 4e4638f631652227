"""One Python thread producing 100-byte records with cinesis and one consuming them, side by
side with a boto3 loop written the way pynesis does it (one PutRecord per record; one
GetRecords per shard per pass), against the same `cinesis serve`, in one run. Prints
records/s for each and the ratios. A benchmark, not a test: run by bench/python.sh.

What is counted:
- producer: records ACKNOWLEDGED by the server (every BatchFuture / DeliveryFuture resolved
  after flush, the stored count checked == records put); the clock stops after flush.
- consumer: records received and checked (count == records put, and the total of the data
  lengths == 100 x count); the clock starts at the consumer's creation. For poll_batch, the
  client's CPU per record too: this process's CPU time (the Python thread and the library's
  fetch threads; the server is another process) over the same span / records.
The cinesis fast path is Producer.put_many (batches of 1,000) and Consumer.poll_batch; the
per-record API (Producer.put with a future per record, `for record in consumer`) is measured
too, on RECORDS / 4 records, and printed on its own lines. The boto3 read loop is run twice
over the same records: pynesis-style (what pynesis's KinesisStream.read does per record: a
generator yields a KinesisRecord (sequence_number, approximate_arrival_timestamp, data,
partition_key) built per record, and after each yielded record an in-memory checkpoint (a
dict, pynesis's default InMemoryCheckpointer) is written; the targets' ratio is against this
loop) and bare (count and data lengths only, no record object, no checkpoint). Both get the
benefit of the doubt on one point: no read_interval sleep (pynesis sleeps 1 s after every pass
over the shards). Neither side limits its GetRecords rate
(cinesis: max_get_records_per_second=inf; its default, 5 per shard as on AWS, would cap 4
shards x 10,000 records at 200,000 records/s; the boto3 loop has no limit).

Usage: python_bench.py ENDPOINT [RECORDS] [BOTO3_RECORDS] [RUNS] [BOTO3_GET_RECORDS]: RUNS
runs against the same server, each printed, then the min and median of every number (ratios
are per run). The boto3 put loop writes BOTO3_RECORDS records one by one (timed), then the
stream is topped up to BOTO3_GET_RECORDS (default 50,000) with untimed PutRecords calls, and
the get loop reads them all (timed).
"""

import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                'python'))

import cinesis  # noqa: E402

SIZE = 100
BATCH = 1000
INF = float('inf')


def cpu_seconds():
    """This process's CPU time (every thread: Python's and the library's)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def check(what, got, want):
    if got != want:
        raise SystemExit('%s: %d, expected %d' % (what, got, want))


def produce_fast(client, stream, n, payload, keys):
    c0 = cpu_seconds()
    t0 = time.time()
    futures = []
    with client.producer(stream, shard_records_per_second=INF,
                         shard_bytes_per_second=INF) as producer:
        for start in range(0, n, BATCH):
            m = min(BATCH, n - start)
            futures.append(producer.put_many([payload] * m, partition_keys=keys[:m]))
        producer.flush(timeout=600)
        stored = sum(f.result(timeout=60) for f in futures)
    dt = time.time() - t0
    cpu = cpu_seconds() - c0
    check('put_many: records acknowledged', stored, n)
    return n / dt, cpu / n * 1e6


def produce_per_record(client, stream, n, payload, keys):
    t0 = time.time()
    with client.producer(stream, shard_records_per_second=INF,
                         shard_bytes_per_second=INF) as producer:
        futures = [producer.put(payload, partition_key=keys[i % BATCH]) for i in range(n)]
        producer.flush(timeout=600)
        stored = sum(1 for f in futures if f.result(timeout=60).ok)
    dt = time.time() - t0
    check('put: records acknowledged', stored, n)
    return n / dt


def consume_fast(client, stream, n):
    got = nbytes = 0
    c0 = cpu_seconds()
    t0 = time.time()
    with client.consumer(stream, 'bench-fast', max_records_per_call=10000,
                         max_get_records_per_second=INF) as consumer:
        while got < n:
            data = consumer.poll_batch(1.0).data
            got += len(data)
            nbytes += sum(map(len, data))
    dt = time.time() - t0
    cpu = cpu_seconds() - c0
    check('poll_batch: records', got, n)
    check('poll_batch: bytes', nbytes, n * SIZE)
    return n / dt, cpu / n * 1e6


def consume_per_record(client, stream, n):
    got = nbytes = 0
    t0 = time.time()
    with client.consumer(stream, 'bench-iter', max_records_per_call=10000,
                         max_get_records_per_second=INF) as consumer:
        for record in consumer:
            got += 1
            nbytes += len(record.data)
            if got == n:
                consumer.stop()
    dt = time.time() - t0
    check('for record in consumer: records', got, n)
    check('for record in consumer: bytes', nbytes, n * SIZE)
    return n / dt


def bench_cinesis(endpoint, n, shards):
    client = cinesis.Client(endpoint=endpoint, region='us-east-1')
    payload = b'x' * SIZE
    keys = ['k%d' % i for i in range(BATCH)]
    out = {}
    stream = 'bench-cinesis-%d' % os.getpid()
    client.create_stream(stream, shards)
    out['put_many'], out['put_many_cpu_us'] = produce_fast(client, stream, n, payload, keys)
    out['poll_batch'], out['poll_batch_cpu_us'] = consume_fast(client, stream, n)
    client.delete_stream(stream)
    small = max(n // 4, 1)
    stream = 'bench-cinesis-rec-%d' % os.getpid()
    client.create_stream(stream, shards)
    out['put'] = produce_per_record(client, stream, small, payload, keys)
    out['iter'] = consume_per_record(client, stream, small)
    client.delete_stream(stream)
    client.close()
    return out, small


class KinesisRecord(object):
    """pynesis's record: what its read loop builds for every record it yields."""

    def __init__(self, sequence_number, approximate_arrival_timestamp, data, partition_key):
        self.sequence_number = sequence_number
        self.approximate_arrival_timestamp = approximate_arrival_timestamp
        self.data = data
        self.partition_key = partition_key

    def __str__(self):
        return str(self.data)


class InMemoryCheckpointer(object):
    """pynesis's default checkpointer: a dict, shard id -> sequence number."""

    def __init__(self):
        self.checkpoints = {}

    def checkpoint(self, shard_id, sequence):
        self.checkpoints[shard_id] = sequence

    def get_checkpoint(self, shard_id):
        return self.checkpoints.get(shard_id)


def shard_iterators(kinesis, stream):
    """Shard ids (DescribeStream) and a TRIM_HORIZON iterator per shard, as pynesis gets them."""
    shard_ids = [s['ShardId'] for s in kinesis.describe_stream(StreamName=stream)
                 ['StreamDescription']['Shards']]
    its = dict((s, kinesis.get_shard_iterator(StreamName=stream, ShardId=s,
                                              ShardIteratorType='TRIM_HORIZON')['ShardIterator'])
               for s in shard_ids)
    return shard_ids, its


def pynesis_style_read(kinesis, stream, checkpointer, batch_size=10000):
    """pynesis's KinesisStream.read, per record: one GetRecords (Limit=batch_size) per shard per
    pass; a KinesisRecord built and yielded per record; after the consumer's code returns,
    checkpointer.checkpoint(shard_id, sequence_number). Unlike pynesis: no read_interval
    sleep (1 s by default) after each pass, and the shard list is read once (pynesis re-reads
    it every shard_sync_interval, 60 s: never within this run)."""
    shard_ids, its = shard_iterators(kinesis, stream)
    while True:
        for shard_id in shard_ids:
            r = kinesis.get_records(ShardIterator=its[shard_id], Limit=batch_size)
            for rec in r['Records']:
                record = KinesisRecord(rec['SequenceNumber'], rec['ApproximateArrivalTimestamp'],
                                       rec['Data'], rec['PartitionKey'])
                yield record
                checkpointer.checkpoint(shard_id, record.sequence_number)
            its[shard_id] = r['NextShardIterator']


def bare_read(kinesis, stream, n):
    """The bare loop: the same GetRecords calls, only the count and the data lengths (no record
    object, no checkpoint, no sleep)."""
    shard_ids, its = shard_iterators(kinesis, stream)
    got = nbytes = 0
    while got < n:
        for s in shard_ids:
            r = kinesis.get_records(ShardIterator=its[s], Limit=10000)
            records = r['Records']
            got += len(records)
            nbytes += sum(len(rec['Data']) for rec in records)
            its[s] = r['NextShardIterator']
    return got, nbytes


def bench_boto3(endpoint, n, ng, shards):
    import boto3
    kinesis = boto3.client('kinesis', endpoint_url=endpoint, region_name='us-east-1',
                           aws_access_key_id='x', aws_secret_access_key='x')
    stream = 'bench-boto3-%d' % os.getpid()
    kinesis.create_stream(StreamName=stream, ShardCount=shards)
    kinesis.get_waiter('stream_exists').wait(StreamName=stream, WaiterConfig={'Delay': 0.1})
    payload = b'x' * SIZE
    t0 = time.time()
    stored = 0
    for i in range(n):  # pynesis's put: one PutRecord per record
        r = kinesis.put_record(StreamName=stream, Data=payload, PartitionKey='k%d' % (i % BATCH))
        stored += 1 if r.get('SequenceNumber') else 0
    put_s = time.time() - t0
    check('boto3 put_record: records acknowledged', stored, n)
    # The read loop gets NG records (>= n): enough for a stable number on a noisy machine
    # (5,000 records are read in ~0.1 s). The extra records are written untimed, in
    # PutRecords batches; how they were written makes no difference to GetRecords.
    for start in range(n, ng, 500):
        m = min(500, ng - start)
        r = kinesis.put_records(StreamName=stream, Records=[
            {'Data': payload, 'PartitionKey': 'k%d' % ((start + i) % BATCH)} for i in range(m)])
        check('boto3 put_records: failed records', r['FailedRecordCount'], 0)
    n = max(n, ng)
    c0 = cpu_seconds()
    t0 = time.time()
    got = nbytes = 0
    checkpointer = InMemoryCheckpointer()
    for record in pynesis_style_read(kinesis, stream, checkpointer):
        got += 1
        nbytes += len(record.data)
        if got == n:
            break
    get_s = time.time() - t0
    get_cpu = cpu_seconds() - c0
    check('boto3 pynesis-style read: records', got, n)
    check('boto3 pynesis-style read: bytes', nbytes, n * SIZE)
    check('boto3 pynesis-style read: checkpointed shards', len(checkpointer.checkpoints), shards)
    t0 = time.time()
    got, nbytes = bare_read(kinesis, stream, n)
    bare_s = time.time() - t0
    check('boto3 bare get_records: records', got, n)
    check('boto3 bare get_records: bytes', nbytes, n * SIZE)
    kinesis.delete_stream(StreamName=stream)
    return stored / put_s, n / get_s, n / bare_s, get_cpu / n * 1e6


def one_run(endpoint, n, nb, ng, shards):
    c, small = bench_cinesis(endpoint, n, shards)
    print('cinesis producer put_many:         %10.0f records/s (%d records of %d B, '
          'acknowledged; client CPU %.2f us/record)' % (c['put_many'], n, SIZE,
                                                       c['put_many_cpu_us']))
    print('cinesis consumer poll_batch:       %10.0f records/s (%d records, checked; '
          'client CPU %.2f us/record)' % (c['poll_batch'], n, c['poll_batch_cpu_us']))
    print('cinesis producer put (per record): %10.0f records/s (%d records)' % (c['put'], small))
    print('cinesis consumer for-record-in:    %10.0f records/s (%d records)' % (c['iter'], small))
    try:
        bp, bg, bb, bg_cpu = bench_boto3(endpoint, nb, ng, shards)
    except ImportError:
        print('boto3 not installed: no comparison')
        return c
    c['boto3_put'], c['boto3_get'], c['boto3_get_bare'] = bp, bg, bb
    c['boto3_get_cpu_us'] = bg_cpu
    c['ratio_put_many'], c['ratio_poll_batch'] = c['put_many'] / bp, c['poll_batch'] / bg
    c['ratio_poll_batch_bare'] = c['poll_batch'] / bb
    c['ratio_put'], c['ratio_iter'] = c['put'] / bp, c['iter'] / bg
    print('boto3 put_record loop (pynesis put, one PutRecord per record): %10.0f records/s '
          '(%d records)' % (bp, nb))
    print('boto3 get_records loop, pynesis-style (KinesisRecord + dict checkpoint per record, '
          'no read_interval sleep): %10.0f records/s (%d records; client CPU %.2f us/record)'
          % (bg, max(nb, ng), bg_cpu))
    print('boto3 get_records loop, bare (count and lengths only, no sleep): %10.0f records/s '
          '(%d records)' % (bb, max(nb, ng)))
    print('ratio fast path:  producer %.1fx, consumer %.1fx (vs the bare loop %.1fx)'
          % (c['ratio_put_many'], c['ratio_poll_batch'], c['ratio_poll_batch_bare']))
    print('ratio per record: producer %.1fx, consumer %.1fx' % (c['ratio_put'], c['ratio_iter']))
    return c


def main():
    endpoint = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
    nb = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    ng = int(sys.argv[5]) if len(sys.argv) > 5 else 50000
    shards = 4
    results = []
    for r in range(runs):
        if runs > 1:
            print('-- run %d of %d' % (r + 1, runs))
        results.append(one_run(endpoint, n, nb, ng, shards))
        sys.stdout.flush()
    if runs > 1:
        print('-- %d runs: min / median' % runs)
        for key in ('put_many', 'put_many_cpu_us', 'poll_batch', 'poll_batch_cpu_us', 'put',
                    'iter', 'boto3_put', 'boto3_get', 'boto3_get_cpu_us', 'boto3_get_bare',
                    'ratio_put_many', 'ratio_poll_batch', 'ratio_poll_batch_bare', 'ratio_put',
                    'ratio_iter'):
            values = sorted(x[key] for x in results if key in x)
            if values:
                fmt = '%-22s %10.1f / %10.1f' if key.startswith('ratio') else \
                    '%-22s %10.2f / %10.2f' if key.endswith('_us') else \
                    '%-22s %10.0f / %10.0f'
                print(fmt % (key, values[0], values[len(values) // 2]))


if __name__ == '__main__':
    main()
