export const handler = async (event) => ({ shape: 'mjs', n: event.n });
