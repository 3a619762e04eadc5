'use strict'
// Renders a REAL page (its WXML, WXSS and JS, unchanged) with miniprogram-simulate in jsdom,
// with the fake wx, and gives tests DOM-level helpers keyed on data-testid (WXML ids are not
// written to the DOM, research P8). Taps are real touchstart/touchend DOM events, which is
// how j-component derives `tap` -- the same path a browser's touch tap takes.

require('./dom-env')
const path = require('path')
const simulate = require('miniprogram-simulate')
const { installPageShim } = require('./page-as-component')
const { installEnv, MP_ROOT } = require('./mp')

// The official wcc compiler is an x86-64 binary (research P9).
const COMPILER = process.env.MPPAY_WXML_COMPILER ||
  (process.arch === 'x64' && ['linux', 'darwin', 'win32'].includes(process.platform) ? 'official' : 'simulate')

// exparser swallows exceptions thrown by handlers and lifecycles and only console.error's them
// (research P5): collect them so a test can fail on them.
const consoleErrors = []
const originalError = console.error
console.error = (...args) => {
  consoleErrors.push(args.map(String).join(' '))
  originalError.apply(console, args)
}

function sleep(ms = 0) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

async function waitFor(predicate, { timeout = 2000, message = 'condition' } = {}) {
  const start = Date.now()
  for (;;) {
    const value = predicate()
    if (value) return value
    if (Date.now() - start > timeout) throw new Error(`timed out waiting for ${message}`)
    await sleep(5)
  }
}

function touch(target) {
  return new Touch({ identifier: 1, target, clientX: 1, clientY: 1, pageX: 1, pageY: 1 })
}

/**
 * @param {string} route e.g. 'pages/products/index'
 * @param {{wx: object, config?: object}} env
 */
function renderPage(route, env) {
  installEnv(env) // fresh module graph, globals, config overrides
  consoleErrors.length = 0
  installPageShim()
  const id = simulate.load(path.join(MP_ROOT, route), { compiler: COMPILER, rootPath: MP_ROOT })
  const page = simulate.render(id)
  const parent = document.createElement('parent-wrapper')
  document.body.appendChild(parent)
  page.attach(parent)
  globalThis.wx = env.wx // simulate merged its own mocks into wx at require time: replace them (P6)

  const all = (testid) => [...page.dom.querySelectorAll(`[data-testid="${testid}"]`)]
  const one = (testid) => page.dom.querySelector(`[data-testid="${testid}"]`)
  return {
    page,
    instance: page.instance,
    get data() { return page.data },
    all,
    one,
    text(testid) {
      const el = one(testid)
      return el ? el.textContent.trim() : null
    },
    texts(testid) { return all(testid).map((el) => el.textContent.trim()) },
    /** A touch tap on the index-th element with this data-testid. */
    async tap(testid, index = 0) {
      const el = all(testid)[index]
      if (!el) throw new Error(`no element with data-testid="${testid}" [${index}]`)
      el.dispatchEvent(new TouchEvent('touchstart', { bubbles: true, cancelable: true, touches: [touch(el)], changedTouches: [touch(el)] }))
      el.dispatchEvent(new TouchEvent('touchend', { bubbles: true, cancelable: true, touches: [], changedTouches: [touch(el)] }))
      await sleep(0)
    },
    consoleErrors,
    detach() {
      page.detach()
      parent.remove()
    },
  }
}

module.exports = { renderPage, waitFor, sleep, COMPILER, consoleErrors }
