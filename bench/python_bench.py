"""One Python thread producing 100-byte records with cinesis.Producer and one consuming them
with cinesis.Consumer, side by side with a boto3 loop written the way pynesis does it (one
PutRecord per record; GetRecords round-robin per shard), against the same `cinesis serve`.
Prints records/s for each. A benchmark, not a test: run by bench/python.sh."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                'python'))

import cinesis  # noqa: E402


def bench_cinesis(endpoint, n, shards):
    client = cinesis.Client(endpoint=endpoint, region='us-east-1')
    stream = 'bench-cinesis-%d' % os.getpid()
    client.create_stream(stream, shards)
    payload = b'x' * 100
    keys = ['k%d' % i for i in range(1024)]
    t0 = time.time()
    with client.producer(stream, shard_records_per_second=float('inf'),
                         shard_bytes_per_second=float('inf')) as producer:
        batch = []
        for i in range(n):
            batch.append((payload, keys[i & 1023]))
            if len(batch) == 1000:
                producer.put_batch(batch)
                batch = []
        if batch:
            producer.put_batch(batch)
        producer.flush(timeout=600)
    put_s = time.time() - t0
    got = 0
    t0 = time.time()
    with client.consumer(stream, 'bench', max_records_per_call=10000) as consumer:
        while got < n:
            got += len(consumer.poll(1.0))
    get_s = time.time() - t0
    client.delete_stream(stream)
    client.close()
    return n / put_s, n / get_s


def bench_boto3(endpoint, n, shards):
    import boto3
    kinesis = boto3.client('kinesis', endpoint_url=endpoint, region_name='us-east-1',
                           aws_access_key_id='x', aws_secret_access_key='x')
    stream = 'bench-boto3-%d' % os.getpid()
    kinesis.create_stream(StreamName=stream, ShardCount=shards)
    kinesis.get_waiter('stream_exists').wait(StreamName=stream, WaiterConfig={'Delay': 0.1})
    payload = b'x' * 100
    t0 = time.time()
    for i in range(n):  # pynesis's put: one PutRecord per record
        kinesis.put_record(StreamName=stream, Data=payload, PartitionKey='k%d' % (i & 1023))
    put_s = time.time() - t0
    shard_ids = [s['ShardId'] for s in kinesis.describe_stream(StreamName=stream)
                 ['StreamDescription']['Shards']]
    its = dict((s, kinesis.get_shard_iterator(StreamName=stream, ShardId=s,
                                              ShardIteratorType='TRIM_HORIZON')['ShardIterator'])
               for s in shard_ids)
    got = 0
    t0 = time.time()
    while got < n:  # pynesis's read loop: one GetRecords per shard per pass
        for s in shard_ids:
            r = kinesis.get_records(ShardIterator=its[s], Limit=10000)
            got += len(r['Records'])
            its[s] = r['NextShardIterator']
    get_s = time.time() - t0
    kinesis.delete_stream(StreamName=stream)
    return n / put_s, n / get_s


def main():
    endpoint = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
    nb = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
    shards = 4
    cp, cg = bench_cinesis(endpoint, n, shards)
    print('cinesis producer: %10.0f records/s (%d records of 100 B)' % (cp, n))
    print('cinesis consumer: %10.0f records/s' % cg)
    try:
        bp, bg = bench_boto3(endpoint, nb, shards)
    except ImportError:
        print('boto3 not installed: no comparison')
        return
    print('boto3 (pynesis-style) put_record loop: %10.0f records/s (%d records)' % (bp, nb))
    print('boto3 (pynesis-style) get_records loop: %10.0f records/s' % bg)
    print('ratio producer: %.1fx, consumer: %.1fx' % (cp / bp, cg / bg))


if __name__ == '__main__':
    main()
