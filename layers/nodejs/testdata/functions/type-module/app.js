// An ES module handler: a .js file in a package with "type": "module".
import * as http from 'node:http';

export async function handler(event, context) {
  if (event.action === 'fail') {
    throw new Error(`boom ${context.awsRequestId}`);
  }
  const status = await new Promise((resolve, reject) => {
    http.get(`${process.env.TARGET_URL}/${context.awsRequestId}`, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    }).on('error', reject);
  });
  return { status };
}
