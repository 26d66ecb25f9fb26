// Builds the server binary once per run, from the working tree, into a
// temporary folder; the tests start it through TANDEM_E2E_BIN. Set
// TANDEM_BIN to test an existing binary instead.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

module.exports = async function globalSetup() {
  if (process.env.TANDEM_BIN) {
    if (!fs.existsSync(process.env.TANDEM_BIN)) throw new Error(`TANDEM_BIN=${process.env.TANDEM_BIN}: no such file`);
    process.env.TANDEM_E2E_BIN = path.resolve(process.env.TANDEM_BIN);
    return undefined;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-e2e-bin-'));
  const bin = path.join(dir, 'tandem');
  const root = path.resolve(__dirname, '..');
  try {
    execFileSync('go', ['build', '-o', bin, '.'], { cwd: root, stdio: 'inherit', timeout: 300_000 });
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`building the server failed: ${err.message}`);
  }
  process.env.TANDEM_E2E_BIN = bin;
  return async () => fs.rmSync(dir, { recursive: true, force: true });
};
