// An ES module handler (.mjs), async. It calls the test's HTTP server at
// TARGET_URL/<request id> with a named import of node:http (which only the
// ES module hook can instrument) and, for {"action":"fetch"}, with fetch;
// {"action":"hang"} calls, then runs past any deadline.
import { get } from 'node:http';

function call(url) {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    }).on('error', reject);
  });
}

export const handler = async (event, context) => {
  const url = `${process.env.TARGET_URL}/${context.awsRequestId}`;
  switch (event.action) {
    case 'fail':
      throw new Error(`boom ${context.awsRequestId}`);
    case 'fetch':
      return { status: (await fetch(url)).status };
    case 'hang': // one call, then past the deadline
      await call(url);
      await new Promise((resolve) => setTimeout(resolve, 60000));
      return { status: 'late' };
    default:
      return { status: await call(url) };
  }
};
