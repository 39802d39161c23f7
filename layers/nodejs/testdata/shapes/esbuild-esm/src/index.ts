// Bundled by the test with esbuild, as CDK's NodejsFunction does: the
// bundle's exports are read-only getters.
import { greeting } from './greeting';

interface Event { n: number }

export const handler = async (event: Event) => ({ shape: 'bundle', greeting: greeting(event.n) });
