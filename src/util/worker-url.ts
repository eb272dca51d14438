/**
 * worker-url: where a worker thread's entry file is. Workers must load compiled
 * JavaScript, but the test runner (vitest) executes the TypeScript sources, where
 * `new URL('./worker.js', import.meta.url)` points at a file that does not exist. So when
 * the caller is a `.ts` file under `src/`, point at its compiled twin under `dist/src/`
 * (the test command builds `dist/` first).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** workerUrl: the URL of compiled module `relative` next to the module at `callerUrl`. */
export function workerUrl(relative: string, callerUrl: string): URL {
  const url = new URL(relative, callerUrl);
  if (!callerUrl.endsWith('.ts')) return url;
  const path = fileURLToPath(url);
  const compiled = path.replace(/([\\/])src([\\/])(?!.*[\\/]src[\\/])/, '$1dist$1src$2');
  if (!existsSync(compiled)) {
    throw new Error(`worker ${relative} is not built: ${compiled} is missing (run \`npm run build:ts\`)`);
  }
  return pathToFileURL(compiled);
}
