exports.handler = (event, context, callback) => {
  setTimeout(() => callback(new Error(`shape failed ${event.n}`)), 50);
};
