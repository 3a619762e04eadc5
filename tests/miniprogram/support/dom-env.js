'use strict'
// jsdom globals for miniprogram-simulate under node:test. Must run BEFORE
// require('miniprogram-simulate').
//
// Node >= 19 has its own global Event / EventTarget / CustomEvent; j-component would create
// Node's CustomEvent and jsdom would reject it ("parameter 1 is not of type 'Event'"), so
// jsdom's versions are copied over those (research P3).

const { JSDOM } = require('jsdom')

if (!globalThis.__mppayDomEnv) {
  const dom = new JSDOM('<!doctype html><html><head></head><body></body></html>', {
    url: 'http://localhost/',
    pretendToBeVisual: true,
  })
  const { window } = dom
  const OVERRIDE = new Set(['Event', 'EventTarget', 'CustomEvent'])
  for (const key of Object.getOwnPropertyNames(window)) {
    if (key.startsWith('_')) continue
    if (key in globalThis && !OVERRIDE.has(key)) continue
    try {
      globalThis[key] = window[key]
    } catch (err) {
      // read-only global: keep Node's
    }
  }
  globalThis.window = window
  globalThis.document = window.document
  globalThis.__mppayDomEnv = dom
}

module.exports = globalThis.__mppayDomEnv
