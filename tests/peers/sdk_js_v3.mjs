// The AWS SDK for JavaScript v3 Kinesis client, with its default request handler
// (NodeHttp2Handler: HTTP/2 only), against a cinesis server.
//   node tests/peers/sdk_js_v3.mjs ENDPOINT      (http://... for h2c, https://... for TLS;
//   for a self-signed certificate set NODE_EXTRA_CA_CERTS to its PEM file)
// Prints one JSON line with what it saw and exits 0 when every check passed.
import assert from 'node:assert/strict';
import {
  KinesisClient, CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordCommand, PutRecordsCommand,
  ListShardsCommand, GetShardIteratorCommand, GetRecordsCommand, RegisterStreamConsumerCommand,
  DescribeStreamConsumerCommand, SubscribeToShardCommand, ListStreamsCommand, DeleteStreamCommand,
} from '@aws-sdk/client-kinesis';

const endpoint = process.argv[2];
if (!endpoint) {
  console.error('usage: sdk_js_v3.mjs ENDPOINT');
  process.exit(2);
}
const client = new KinesisClient({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
  maxAttempts: 1,
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const handler = client.config.requestHandler;
  const handlerName = handler && handler.constructor ? handler.constructor.name : String(handler);
  assert.equal(handlerName, 'NodeHttp2Handler', 'the default handler of client-kinesis should be HTTP/2');

  const name = `js-v3-${process.pid}-${Date.now()}`;
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  let summary;
  for (let i = 0; i < 100; i++) {
    summary = (await client.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary;
    if (summary.StreamStatus === 'ACTIVE') break;
    await sleep(100);
  }
  assert.equal(summary.StreamStatus, 'ACTIVE');
  const streamArn = summary.StreamARN;

  const data1 = new Uint8Array([0, 1, 2, 254, 255, 10, 13, 0x80]);
  const put = await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'pk', Data: data1 }));
  assert.match(put.SequenceNumber, /^[0-9]+$/);
  const batch = [0, 1, 2].map((i) => ({ PartitionKey: `k${i}`, Data: new TextEncoder().encode(`record-${i}`) }));
  const puts = await client.send(new PutRecordsCommand({ StreamName: name, Records: batch }));
  assert.equal(puts.FailedRecordCount, 0);

  const shards = (await client.send(new ListShardsCommand({ StreamName: name }))).Shards;
  assert.equal(shards.length, 1);
  const shardId = shards[0].ShardId;
  const it = await client.send(new GetShardIteratorCommand({
    StreamName: name, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON',
  }));
  const got = await client.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
  assert.equal(got.Records.length, 4);
  assert.deepEqual(Array.from(got.Records[0].Data), Array.from(data1));
  assert.equal(new TextDecoder().decode(got.Records[3].Data), 'record-2');
  assert.equal(got.Records[0].SequenceNumber, put.SequenceNumber);

  // Parallel requests share the one HTTP/2 connection.
  const listed = await Promise.all([1, 2, 3, 4, 5].map(() => client.send(new ListStreamsCommand({}))));
  for (const l of listed) assert.ok(l.StreamNames.includes(name));

  const consumer = (await client.send(new RegisterStreamConsumerCommand({
    StreamARN: streamArn, ConsumerName: 'js-consumer',
  }))).Consumer;
  let status = consumer.ConsumerStatus;
  for (let i = 0; i < 100 && status !== 'ACTIVE'; i++) {
    await sleep(100);
    status = (await client.send(new DescribeStreamConsumerCommand({ ConsumerARN: consumer.ConsumerARN })))
      .ConsumerDescription.ConsumerStatus;
  }
  assert.equal(status, 'ACTIVE');

  const sub = await client.send(new SubscribeToShardCommand({
    ConsumerARN: consumer.ConsumerARN, ShardId: shardId, StartingPosition: { Type: 'TRIM_HORIZON' },
  }));
  const seen = [];
  let events = 0;
  let sentLive = false;
  const deadline = Date.now() + 20000;
  for await (const ev of sub.EventStream) {
    if (process.env.DEBUG_EVENTS) console.error(JSON.stringify(ev, (k, v) => (v instanceof Uint8Array ? Array.from(v) : v)));
    if (ev.SubscribeToShardEvent) {
      events++;
      for (const r of ev.SubscribeToShardEvent.Records) seen.push(r);
      assert.match(ev.SubscribeToShardEvent.ContinuationSequenceNumber, /^[0-9]+$/);
      if (seen.length >= 4 && !sentLive) {
        // A record appended while subscribed is pushed on the open stream.
        sentLive = true;
        await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: 'pk', Data: new TextEncoder().encode('live') }));
      }
      if (seen.length >= 5) break;
    }
    if (Date.now() > deadline) break;
  }
  assert.ok(seen.length >= 5, `subscription delivered ${seen.length} records`);
  assert.deepEqual(Array.from(seen[0].Data), Array.from(data1));
  assert.equal(new TextDecoder().decode(seen[4].Data), 'live');

  await client.send(new DeleteStreamCommand({ StreamName: name, EnforceConsumerDeletion: true }));
  console.log(JSON.stringify({ ok: true, handler: handlerName, records: got.Records.length, events, subscribed: seen.length }));
}

main().then(() => {
  client.destroy();
  process.exit(0);
}, (err) => {
  console.error(err && err.stack ? err.stack : err);
  client.destroy();
  process.exit(1);
});
