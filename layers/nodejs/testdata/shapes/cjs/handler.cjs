module.exports.handler = async (event) => ({ shape: 'cjs', n: event.n });
