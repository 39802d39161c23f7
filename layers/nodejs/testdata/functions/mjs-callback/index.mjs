// An ES module handler (.mjs) in the callback style.
import http from 'node:http';

export function handler(event, context, callback) {
  if (event.action === 'fail') {
    callback(new Error(`boom ${context.awsRequestId}`));
    return;
  }
  http.get(`${process.env.TARGET_URL}/${context.awsRequestId}`, (res) => {
    res.resume();
    res.on('end', () => callback(null, { status: res.statusCode }));
  }).on('error', callback);
}
