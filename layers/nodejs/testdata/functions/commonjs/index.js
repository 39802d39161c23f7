// A classic CommonJS handler: a .js file with no package.json, async.
const http = require('http');

exports.handler = async (event, context) => {
  const url = `${process.env.TARGET_URL}/${context.awsRequestId}`;
  if (event.action === 'fail') {
    throw new Error(`boom ${context.awsRequestId}`);
  }
  if (event.action === 'fetch') {
    return { status: (await fetch(url)).status };
  }
  const status = await new Promise((resolve, reject) => {
    http.get(url, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    }).on('error', reject);
  });
  return { status };
};
