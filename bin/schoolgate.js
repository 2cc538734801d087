#!/usr/bin/env node
// The schoolgate command. From a source checkout it runs the TypeScript directly through tsx;
// an installed image without src/ (see Dockerfile) runs the compiled dist/.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import(new URL('../dist/cli/main.js', import.meta.url).href);
}
