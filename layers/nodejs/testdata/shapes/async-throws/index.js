exports.handler = async (event) => {
  throw new Error(`shape failed ${event.n}`);
};
