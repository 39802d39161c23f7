// A CommonJS handler that calls DynamoDB with the AWS SDK (v3) at
// DYNAMODB_ENDPOINT, the test's fake.
const { DynamoDBClient, GetItemCommand } = require('@aws-sdk/client-dynamodb');

const client = new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT });

exports.handler = async (event, context) => {
  const out = await client.send(new GetItemCommand({ TableName: 'orders', Key: { id: { S: context.awsRequestId } } }));
  return { id: out.Item.id.S };
};
