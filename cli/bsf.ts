/** The bsf executable's body (bin/bsf.mjs loads it, or its bundle dist/bsf.mjs): run, flush, exit. */
import { EXIT, main } from './main.js';

const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).catch(
  (error: unknown) => {
    process.stderr.write(`bsf: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.internal;
  },
);
// SDK clients keep sockets open; the result is written, so end here rather than wait for them.
process.exit(code);
