exports.handler = async (event) => ({ shape: 'subdir', n: event.n });
