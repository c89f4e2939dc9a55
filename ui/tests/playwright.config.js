// Playwright drives Debian's chromium (never a downloaded browser) against `flowlens run`
// servers that server.js starts per test. Run with `npx playwright test` after
// `cargo build -p flowlens` (FLOWLENS_BIN overrides the binary; CHROMIUM the browser).
const { defineConfig } = require('@playwright/test');

module.exports = defineConfig({
  testDir: '.',
  testMatch: /.*\.spec\.js$/,
  // Two CPU cores are shared with others: one browser at a time.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 90_000,
  expect: { timeout: 20_000 },
  reporter: [['list']],
  outputDir: process.env.PLAYWRIGHT_OUTPUT_DIR || require('node:os').tmpdir() + '/flowlens-ui-tests',
  use: {
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: ['--no-sandbox'],
    },
  },
});
