export async function handler(event) {
  return { shape: 'type-module', n: event.n };
}
