exports.handler = (event, context) => {
  setTimeout(() => context.fail(new Error(`shape failed ${event.n}`)), 300);
};
