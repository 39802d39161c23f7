exports.handler = (event, context, callback) => {
  setTimeout(() => callback(null, { shape: 'callback', n: event.n }), 50);
};
