#!/usr/bin/env node
'use strict'
// `npm run test:e2e`: the browser end-to-end tests (tests/miniprogram/e2e/*.test.js), each of
// which starts a real `mppay serve --sandbox` and drives /preview/ in Debian's Chromium.
//
// They need /usr/bin/chromium (or MPPAY_CHROMIUM) and the Python venv's .venv/bin/mppay.
// When one is missing the run is SKIPPED with a loud message and exit status 0, so that
// `npm test` still works on a machine with Node only; MPPAY_REQUIRE_E2E=1 turns the skip into
// a failure (exit 1). Extra arguments go to `node --test` (e.g. a single test file).

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const REPO = path.resolve(__dirname, '..')
const CHROMIUM = process.env.MPPAY_CHROMIUM || '/usr/bin/chromium'
const MPPAY = path.join(REPO, '.venv', 'bin', 'mppay')
const required = process.env.MPPAY_REQUIRE_E2E === '1'

const missing = []
if (!fs.existsSync(CHROMIUM)) missing.push(`${CHROMIUM} (install it: apt-get install -y chromium; never a Playwright download)`)
if (!fs.existsSync(MPPAY)) missing.push(`${MPPAY} (create the venv: make test, or python3 -m venv .venv && .venv/bin/pip install -e '.[dev]')`)

if (missing.length) {
  const bar = '!'.repeat(78)
  const lines = [
    bar,
    `!! BROWSER END-TO-END TESTS ${required ? 'CANNOT RUN' : 'SKIPPED'}: missing`,
    ...missing.map((m) => `!!   - ${m}`),
    required ? '!! MPPAY_REQUIRE_E2E=1: failing.' : '!! Set MPPAY_REQUIRE_E2E=1 to make this an error.',
    bar
  ]
  process.stderr.write(lines.join('\n') + '\n')
  process.exit(required ? 1 : 0)
}

const files = process.argv.slice(2)
const args = ['--test', '--test-reporter=spec', ...(files.length ? files : ['tests/miniprogram/e2e/'])]
const started = Date.now()
const run = spawnSync(process.execPath, args, { cwd: REPO, stdio: 'inherit' })
process.stderr.write(`browser end-to-end tests: ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in test-artifacts/e2e/\n`)
process.exit(run.status === null ? 1 : run.status)
