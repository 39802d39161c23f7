// The source of the benchmark's bundled handler: bundled with esbuild and
// the layer's plugin (bench/nodejs), the AWS SDK's DynamoDB client makes it
// a bundle of about a megabyte and a half, as real functions ship. Each
// invocation makes one HTTP call to TARGET_URL.
const http = require('node:http');
const { DynamoDBClient } = require('@aws-sdk/client-dynamodb');

const client = new DynamoDBClient({ region: 'us-east-1' });

exports.handler = async (event, context) => {
  const status = await new Promise((resolve, reject) => {
    http.get(`${process.env.TARGET_URL}/${context.awsRequestId}`, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    }).on('error', reject);
  });
  return { status, region: await client.config.region() };
};
