export function greeting(n: number): string {
  return `hello ${n}`;
}
