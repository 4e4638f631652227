// Deaggregates Kinesis records with AWS's own aws-kinesis-agg package (checksums on).
// stdin: one JSON record per line {"data": base64, "partitionKey", "sequenceNumber"};
// stdout: one JSON user record per line {"partitionKey", "data" (base64), "sequenceNumber", "subSequenceNumber"}.
const agg = require('aws-kinesis-agg');
const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter(Boolean);
let failed = 0;
for (const line of lines) {
  const r = JSON.parse(line);
  agg.deaggregateSync({data: r.data, partitionKey: r.partitionKey, sequenceNumber: r.sequenceNumber,
                       approximateArrivalTimestamp: 0, kinesisSchemaVersion: '1.0'}, true, (err, users) => {
    if (err) {
      failed++;
      process.stderr.write('deaggregate failed: ' + err + '\n');
      return;
    }
    for (const u of users) {
      process.stdout.write(JSON.stringify({partitionKey: u.partitionKey, data: u.data,
                                           sequenceNumber: u.sequenceNumber,
                                           subSequenceNumber: u.subSequenceNumber}) + '\n');
    }
  });
}
process.exitCode = failed ? 1 : 0;  // not process.exit(): stdout to a pipe is written asynchronously
