'use strict'
// The same miniprogram/ files, loaded the way the browser harness and /preview/ load them:
// miniprogram-simulate's browser bundle (build.js) in a jsdom window, files served from
// window.__FILE_MAP__ and run through its `new Function('require', 'module', source)` loader,
// booted by tests/miniprogram/harness/boot.js. Proves the client runs under that loader before
// any browser is involved.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('fs')
const path = require('path')
const { JSDOM, VirtualConsole } = require('jsdom')
const { createFakeWx } = require('../support/fake-wx')
const { createFakeService } = require('../support/fake-service')
const { fileMapScript } = require('../harness/file-map')

const BUILD_JS = fs.readFileSync(require.resolve('miniprogram-simulate/build.js'), 'utf8')
const BOOT_JS = fs.readFileSync(path.join(__dirname, '../harness/boot.js'), 'utf8')
const FILE_MAP_JS = fileMapScript()

function sleep(ms = 0) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

async function waitFor(predicate, message) {
  for (let i = 0; i < 400; i++) {
    const value = predicate()
    if (value) return value
    await sleep(5)
  }
  throw new Error(`timed out waiting for ${message}`)
}

function browser(wxOptions = {}) {
  const errors = []
  const virtualConsole = new VirtualConsole()
  virtualConsole.on('error', (...args) => errors.push(args.map(String).join(' ')))
  virtualConsole.on('jsdomError', (err) => errors.push(String(err && err.stack || err)))
  const dom = new JSDOM('<!doctype html><html><body><div id="app"></div></body></html>', {
    runScripts: 'dangerously', pretendToBeVisual: true, url: 'http://localhost/', virtualConsole,
  })
  const w = dom.window
  const service = createFakeService()
  const fake = createFakeWx({ service, JSON: w.JSON, ...wxOptions })
  w.__wxShim = fake.wx
  for (const source of [FILE_MAP_JS, BUILD_JS, BOOT_JS]) {
    const script = w.document.createElement('script')
    script.textContent = source
    w.document.head.appendChild(script)
  }
  assert.deepEqual(errors, [], 'the bundle and boot.js load cleanly')
  const mount = () => {
    const el = w.document.getElementById('app')
    el.innerHTML = ''
    return el
  }
  const byTestId = (id) => [...w.document.querySelectorAll(`[data-testid="${id}"]`)]
  const text = (id) => (byTestId(id)[0] ? byTestId(id)[0].textContent.trim() : null)
  async function tap(id, index = 0) {
    const el = byTestId(id)[index]
    if (!el) throw new Error(`no [data-testid=${id}]`)
    // jsdom has no Touch constructor: a plain Event carrying touch lists is what j-component reads
    const point = { identifier: 1, target: el, clientX: 1, clientY: 1, pageX: 1, pageY: 1 }
    const touchEvent = (type, touches) => {
      const ev = new w.Event(type, { bubbles: true, cancelable: true })
      Object.defineProperty(ev, 'touches', { value: touches })
      Object.defineProperty(ev, 'changedTouches', { value: [point] })
      return ev
    }
    el.dispatchEvent(touchEvent('touchstart', [point]))
    el.dispatchEvent(touchEvent('touchend', []))
    await sleep(0)
  }
  return { w, dom, service, fake, errors, mount, byTestId, text, tap }
}

test('the products page runs on the browser bundle with boot.js', async () => {
  const b = browser()
  await b.w.mppayBoot('/pages/products/index', {}, b.mount())
  assert.deepEqual(b.byTestId('product-price').map((el) => el.textContent), ['¥19.90', '¥0.01', '¥0.00'])
  await b.tap('product-item', 0)
  await waitFor(() => b.fake.callsTo('navigateTo').length === 1, 'navigateTo')
  const url = b.fake.callsTo('navigateTo')[0].options.url
  assert.deepEqual(JSON.parse(JSON.stringify(b.w.mppayParseUrl(url))), { route: 'pages/confirm/index', query: { productId: 'p-coffee' } })
  assert.deepEqual(b.errors, [])
  b.dom.window.close()
})

test('confirm -> pay -> result, page to page, as the harness will drive it', async () => {
  const b = browser({ pay: 'ok' })
  // the cashier "pays": the service learns it as it would from WeChat's notification
  b.fake.options.onPay = () => {
    const id = [...b.service.orders.keys()].at(-1)
    b.service.setStatus(id, 'PAID')
  }
  await b.w.mppayBoot('pages/confirm/index', { productId: 'p-coffee' }, b.mount())
  await b.tap('qty-plus')
  await waitFor(() => b.text('qty-value') === '2', 'quantity 2')
  await b.tap('place-order')
  await waitFor(() => b.text('order-total'), 'order total')
  assert.equal(b.text('order-total'), '¥39.80')
  await b.tap('pay-button')
  await b.tap('pay-button')
  await waitFor(() => b.fake.callsTo('redirectTo').length === 1, 'redirect')
  assert.equal(b.fake.callsTo('requestPayment').length, 1)
  assert.deepEqual(b.fake.violations, [])

  const next = b.w.mppayParseUrl(b.fake.callsTo('redirectTo')[0].options.url)
  assert.equal(next.route, 'pages/result/index')
  await b.w.mppayBoot(next.route, next.query, b.mount())
  assert.equal(b.byTestId('result-state')[0].getAttribute('data-state'), 'paid')
  assert.equal(b.text('result-title'), 'Payment successful')
  assert.equal(b.text('result-amount'), '¥39.80')
  // one login for the whole session: the module cache in boot.js keeps services single
  assert.equal(b.fake.callsTo('login').length, 1)
  assert.deepEqual(b.errors, [])
  b.dom.window.close()
})
