// One signed call of the AWS SDK for JavaScript v3 (HTTP/2, NodeHttp2Handler) against a
// cinesis server that verifies signatures (`cinesis serve --auth sigv4`).
//   node tests/peers/sdk_js_v3_auth.mjs ENDPOINT ACCESS_KEY_ID SECRET [SESSION_TOKEN]
// Prints one JSON line: {"ok": true, "streams": N} or {"ok": false, "name", "message",
// "status"} (the service's error as the SDK parsed it), and exits 0 either way (2: usage).
import { KinesisClient, ListStreamsCommand } from '@aws-sdk/client-kinesis';

const [endpoint, accessKeyId, secretAccessKey, sessionToken] = process.argv.slice(2);
if (!endpoint || !accessKeyId || !secretAccessKey) {
  console.error('usage: sdk_js_v3_auth.mjs ENDPOINT ACCESS_KEY_ID SECRET [SESSION_TOKEN]');
  process.exit(2);
}
const client = new KinesisClient({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
  maxAttempts: 1,
});
try {
  const out = await client.send(new ListStreamsCommand({}));
  const handler = client.config.requestHandler;
  console.log(JSON.stringify({ ok: true, streams: out.StreamNames.length,
                               handler: handler && handler.constructor ? handler.constructor.name : '' }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, name: e.name, message: e.message,
                               status: e.$metadata ? e.$metadata.httpStatusCode : null }));
} finally {
  client.destroy();
}
