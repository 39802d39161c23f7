// A classic CommonJS handler (.js, "type": "commonjs") in the callback style.
const http = require('http');

module.exports.handler = (event, context, callback) => {
  if (event.action === 'fail') {
    callback(new Error(`boom ${context.awsRequestId}`));
    return;
  }
  http.get(`${process.env.TARGET_URL}/${context.awsRequestId}`, (res) => {
    res.resume();
    res.on('end', () => callback(null, { status: res.statusCode }));
  }).on('error', callback);
};
