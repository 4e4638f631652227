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
too, on RECORDS / 4 records, and printed on its own lines. The boto3 loop gets the benefit of
the doubt: no read_interval sleep, no KinesisRecord object, no per-record checkpoint (pynesis
does all three), only the count and the data lengths. Neither side limits its GetRecords rate
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
    check('put_many: records acknowledged', stored, n)
    return n / dt


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
    out['put_many'] = produce_fast(client, stream, n, payload, keys)
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
    t0 = time.time()
    shard_ids = [s['ShardId'] for s in kinesis.describe_stream(StreamName=stream)
                 ['StreamDescription']['Shards']]
    its = dict((s, kinesis.get_shard_iterator(StreamName=stream, ShardId=s,
                                              ShardIteratorType='TRIM_HORIZON')['ShardIterator'])
               for s in shard_ids)
    got = nbytes = 0
    while got < n:  # pynesis's read loop: one GetRecords (Limit=10000) per shard per pass
        for s in shard_ids:
            r = kinesis.get_records(ShardIterator=its[s], Limit=10000)
            records = r['Records']
            got += len(records)
            nbytes += sum(len(rec['Data']) for rec in records)
            its[s] = r['NextShardIterator']
    get_s = time.time() - t0
    check('boto3 get_records: records', got, n)
    check('boto3 get_records: bytes', nbytes, n * SIZE)
    kinesis.delete_stream(StreamName=stream)
    return stored / put_s, n / get_s


def one_run(endpoint, n, nb, ng, shards):
    c, small = bench_cinesis(endpoint, n, shards)
    print('cinesis producer put_many:         %10.0f records/s (%d records of %d B, '
          'acknowledged)' % (c['put_many'], n, SIZE))
    print('cinesis consumer poll_batch:       %10.0f records/s (%d records, checked; '
          'client CPU %.2f us/record)' % (c['poll_batch'], n, c['poll_batch_cpu_us']))
    print('cinesis producer put (per record): %10.0f records/s (%d records)' % (c['put'], small))
    print('cinesis consumer for-record-in:    %10.0f records/s (%d records)' % (c['iter'], small))
    try:
        bp, bg = bench_boto3(endpoint, nb, ng, shards)
    except ImportError:
        print('boto3 not installed: no comparison')
        return c
    c['boto3_put'], c['boto3_get'] = bp, bg
    c['ratio_put_many'], c['ratio_poll_batch'] = c['put_many'] / bp, c['poll_batch'] / bg
    c['ratio_put'], c['ratio_iter'] = c['put'] / bp, c['iter'] / bg
    print('boto3 (pynesis-style) put_record loop:  %10.0f records/s (%d records)' % (bp, nb))
    print('boto3 (pynesis-style) get_records loop: %10.0f records/s (%d records)'
          % (bg, max(nb, ng)))
    print('ratio fast path:  producer %.1fx, consumer %.1fx' % (c['ratio_put_many'],
                                                               c['ratio_poll_batch']))
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
        for key in ('put_many', 'poll_batch', 'poll_batch_cpu_us', 'put', 'iter', 'boto3_put',
                    'boto3_get', 'ratio_put_many', 'ratio_poll_batch', 'ratio_put', 'ratio_iter'):
            values = sorted(x[key] for x in results if key in x)
            if values:
                fmt = '%-18s %10.1f / %10.1f' if key.startswith('ratio') else \
                    '%-18s %10.2f / %10.2f' if key.endswith('_us') else \
                    '%-18s %10.0f / %10.0f'
                print(fmt % (key, values[0], values[len(values) // 2]))


if __name__ == '__main__':
    main()
