#!/usr/bin/env node
// Entry point only: everything lives in the bundled dist/.
import('../dist/cli.js').then((m) => m.main(process.argv)).catch((err) => {
  process.stderr.write(`collab: ${err && err.message ? err.message : String(err)}\n`);
  process.exit(1);
});
