#!/usr/bin/env node
// The CLI runs the compiled code in dist/ (built by `npm ci` through `prepare`, or `npm run build`).
let cli;
try {
  cli = await import('../dist/cli/main.js');
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('/dist/cli/main.js')) {
    process.stderr.write('pagestack: run npm ci (or npm run build) first\n');
    process.exit(1);
  }
  throw err;
}
cli.installStreamGuards();
process.exitCode = await cli.main(process.argv);
