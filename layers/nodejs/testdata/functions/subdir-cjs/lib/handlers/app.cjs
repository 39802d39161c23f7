// A CommonJS handler two directories down (handler "lib/handlers/app.handler"), callback style.
const http = require('node:http');

exports.handler = (event, context, callback) => {
  if (event.action === 'fail') {
    callback(new Error(`boom ${context.awsRequestId}`));
    return;
  }
  http.get(`${process.env.TARGET_URL}/${context.awsRequestId}`, (res) => {
    res.resume();
    res.on('end', () => callback(null, { status: res.statusCode }));
  }).on('error', callback);
};
