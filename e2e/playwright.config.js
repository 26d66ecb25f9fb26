// Playwright runs the browser tests against a freshly built server, with the
// system's Chromium (Playwright's own browser download is not used).
const { defineConfig } = require('@playwright/test');

module.exports = defineConfig({
  testDir: './tests',
  // screenshot.spec.js writes docs/screenshot.png: only when asked for.
  testIgnore: process.env.SCREENSHOT === '1' ? [] : ['**/screenshot.spec.js'],
  globalSetup: require.resolve('./global-setup.js'),
  // The machine is small and shared: one test at a time, each with its own
  // server process and data folder.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  outputDir: 'test-results',
  use: {
    viewport: { width: 1100, height: 720 },
    actionTimeout: 15_000,
    navigationTimeout: 20_000,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-dev-shm-usage',
      ],
    },
  },
});
