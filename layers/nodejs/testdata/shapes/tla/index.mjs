// A module with top-level await: the runtime waits for it before the first invocation.
const config = await new Promise((resolve) => setTimeout(() => resolve({ greeting: 'tla' }), 10));

export const handler = async (event) => ({ shape: config.greeting, n: event.n });
