// The legacy style: the answer through context.succeed, after the handler returned.
exports.handler = (event, context) => {
  setTimeout(() => context.succeed({ shape: 'succeed', n: event.n }), 300);
};
