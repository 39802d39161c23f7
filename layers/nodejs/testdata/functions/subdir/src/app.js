// An ES module handler in a subdirectory (handler "src/app.handler"): the
// "type": "module" is in the package.json of the task root, above it.
import { request } from 'node:http';

export const handler = async (event, context) => {
  if (event.action === 'fail') {
    throw new Error(`boom ${context.awsRequestId}`);
  }
  const status = await new Promise((resolve, reject) => {
    request(`${process.env.TARGET_URL}/${context.awsRequestId}`, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    }).on('error', reject).end();
  });
  return { status };
};
