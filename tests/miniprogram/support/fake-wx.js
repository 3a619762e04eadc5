'use strict'
// A fake `wx` that follows the documented platform contracts (research §2), for node:test.
//
// - callbacks fire asynchronously (never inside the call), success/fail first, then complete;
// - wx.request: `success` for ANY HTTP status, `fail` only when there is no HTTP answer;
//   it returns a RequestTask, never a promise; data goes through a JSON round trip both ways;
// - wx.login: callback-only (no promise style, per its doc page);
// - promise-capable APIs (requestPayment, showModal, showToast, showLoading, hideLoading,
//   navigateTo, ...) return a promise when called without success/fail/complete;
// - storage: getStorageSync of a missing key -> '' ; values are JSON-cloned;
// - showLoading and showToast share one slot: a toast or the cashier opening while a loading
//   overlay is up is recorded in `violations`.
//
// Every call is recorded in `calls` ({api, options}) in call order.

/** Thrown by a service handler to simulate a transport failure (no HTTP answer). */
class TransportError extends Error {
  constructor(errMsg = 'request:fail timeout', errno = 5) {
    super(errMsg)
    this.errMsg = errMsg
    this.errno = errno
  }
}

function jsonClone(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value))
}

function withoutCallbacks(options) {
  const out = {}
  for (const key of Object.keys(options || {})) {
    if (key !== 'success' && key !== 'fail' && key !== 'complete') out[key] = options[key]
  }
  return out
}

function parseUrl(url) {
  const u = new URL(url)
  const query = {}
  for (const [k, v] of u.searchParams) query[k] = v
  return { origin: u.origin, path: u.pathname, query }
}

/**
 * @param {object} opts
 * @param {{handle(req): any}} [opts.service] answers wx.request: returns {statusCode, data, header}
 *        (or a promise of it), or throws TransportError
 * @param {'ok'|'cancel'|'legacy-cancel'|string|function} [opts.pay] the cashier's outcome
 *        ('legacy-cancel' = WeChat <= 6.5.2: only `complete` with 'requestPayment:cancel')
 * @param {function} [opts.onPay] called with the requestPayment options when the user pays
 * @param {string} [opts.businessView] outcome of wx.openBusinessView ('ok' or an error text)
 * @param {function} [opts.onBusinessView] called with the openBusinessView options
 * @param {boolean|function} [opts.modalConfirm] what the user taps in showModal (default true)
 * @param {string|null} [opts.loginFail] errMsg to fail wx.login with
 * @param {JSON} [opts.JSON] the JSON of the realm the page runs in (a jsdom window's, so that
 *        arrays handed to the page are that realm's arrays, as they are in a browser)
 */
function createFakeWx(opts = {}) {
  const realmJSON = opts.JSON || JSON
  const calls = []
  const violations = []
  const storage = new Map()
  let loadingVisible = false
  let loginCount = 0
  let pending = 0

  const fake = {
    calls,
    violations,
    storage,
    options: opts,
    get loadingVisible() { return loadingVisible },
    callsTo(api) { return calls.filter((c) => c.api === api) },
    apiSequence(filter) { return calls.map((c) => c.api).filter((a) => !filter || filter.includes(a)) },
    /** Resolves when no fake callback is scheduled any more. */
    async settle() {
      for (let i = 0; i < 1000; i++) {
        await new Promise((r) => setTimeout(r, 0))
        if (pending === 0) return
      }
      throw new Error('fake wx did not settle')
    },
  }

  function record(api, options) {
    const entry = { api, options: withoutCallbacks(options), raw: options }
    calls.push(entry)
    return entry
  }

  // Runs `produce` later, then calls success/fail and complete. produce returns
  // {ok, result} or a promise of it.
  function later(api, options, produce, entry) {
    pending++
    setTimeout(async () => {
      let outcome
      try {
        outcome = await produce()
      } catch (err) {
        outcome = { ok: false, result: { errMsg: `${api}:fail ${err && err.message}` } }
      }
      if (entry) {
        entry.outcome = outcome.ok ? 'success' : outcome.completeOnly ? 'complete' : 'fail'
        entry.result = outcome.result
      }
      try {
        if (outcome.ok && options.success) options.success(outcome.result)
        if (!outcome.ok && !outcome.completeOnly && options.fail) options.fail(outcome.result)
        if (options.complete) options.complete(outcome.result)
      } finally {
        pending--
      }
    }, 0)
  }

  function callbackApi(api, produce) {
    return function (options = {}) {
      const entry = record(api, options)
      later(api, options, () => produce(options), entry)
    }
  }

  function promiseApi(api, produce) {
    return function (options = {}) {
      const entry = record(api, options)
      const hasCallback = options.success || options.fail || options.complete
      if (hasCallback) {
        later(api, options, () => produce(options, entry), entry)
        return undefined
      }
      return new Promise((resolve, reject) => {
        later(api, { success: resolve, fail: reject }, () => produce(options, entry), entry)
      })
    }
  }

  function withSyncEffect(effect, fn) {
    return function (options = {}) {
      effect(options)
      return fn(options)
    }
  }

  const ok = (api, extra) => ({ ok: true, result: { errMsg: `${api}:ok`, ...extra } })

  const wx = {
    login: callbackApi('login', () => {
      if (opts.loginFail) return { ok: false, result: { errMsg: opts.loginFail, errno: 1 } }
      loginCount++
      return ok('login', { code: `code-${loginCount}` })
    }),

    request(options = {}) {
      const entry = record('request', options)
      let aborted = false
      const task = {
        abort() { aborted = true },
        onHeadersReceived() {},
        offHeadersReceived() {},
      }
      later('request', options, async () => {
        if (aborted) return { ok: false, result: { errMsg: 'request:fail abort' } }
        if (!opts.service) return { ok: false, result: { errMsg: 'request:fail no service', errno: 600000 } }
        const { origin, path, query } = parseUrl(options.url)
        let res
        try {
          res = await opts.service.handle({
            origin,
            method: (options.method || 'GET').toUpperCase(),
            url: options.url,
            path,
            query,
            header: { ...(options.header || {}) },
            data: jsonClone(options.data),
          })
        } catch (err) {
          if (err instanceof TransportError) return { ok: false, result: { errMsg: err.errMsg, errno: err.errno } }
          throw err
        }
        let data = res.data
        if (typeof data !== 'string') data = JSON.stringify(data === undefined ? '' : data)
        if ((options.dataType || 'json') === 'json') {
          try { data = realmJSON.parse(data) } catch (e) { /* not JSON: the platform passes the text */ }
        }
        return ok('request', { statusCode: res.statusCode, data, header: res.header || {}, cookies: [] })
      }, entry)
      return task
    },

    // UI state changes (and the one-slot rule) apply at call time; callbacks come later.
    requestPayment: withSyncEffect(() => {
      if (loadingVisible) violations.push('requestPayment opened while the loading overlay was visible')
    }, promiseApi('requestPayment', (options) => {
      const outcome = typeof opts.pay === 'function' ? opts.pay(withoutCallbacks(options)) : (opts.pay || 'ok')
      if (outcome === 'ok') {
        if (opts.onPay) opts.onPay(withoutCallbacks(options))
        return ok('requestPayment')
      }
      if (outcome === 'cancel') return { ok: false, result: { errMsg: 'requestPayment:fail cancel' } }
      if (outcome === 'legacy-cancel') return { ok: false, completeOnly: true, result: { errMsg: 'requestPayment:cancel' } }
      return { ok: false, result: { errMsg: `requestPayment:fail ${outcome}` } }
    })),

    // WeChat's confirm-receipt page: opts.businessView 'ok' (default) | 'fail' | function.
    openBusinessView: promiseApi('openBusinessView', (options) => {
      if (typeof opts.onBusinessView === 'function') opts.onBusinessView(options)
      const outcome = opts.businessView || 'ok'
      if (outcome === 'ok') return ok('openBusinessView')
      return { ok: false, result: { errMsg: `openBusinessView:fail ${outcome}` } }
    }),

    showLoading: withSyncEffect((options) => {
      if (options && options.title) loadingVisible = true
    }, promiseApi('showLoading', (options) => {
      if (!options.title) return { ok: false, result: { errMsg: 'showLoading:fail parameter error: title is required' } }
      return ok('showLoading')
    })),
    hideLoading: withSyncEffect(() => {
      loadingVisible = false
    }, promiseApi('hideLoading', () => ok('hideLoading'))),
    showToast: withSyncEffect(() => {
      if (loadingVisible) violations.push('showToast while the loading overlay was visible')
    }, promiseApi('showToast', () => ok('showToast'))),
    showModal: promiseApi('showModal', (options) => {
      const confirm = typeof opts.modalConfirm === 'function' ? opts.modalConfirm(options) : opts.modalConfirm !== false
      return ok('showModal', { confirm, cancel: !confirm })
    }),

    navigateTo: promiseApi('navigateTo', () => ok('navigateTo')),
    redirectTo: promiseApi('redirectTo', () => ok('redirectTo')),
    reLaunch: promiseApi('reLaunch', () => ok('reLaunch')),
    navigateBack: promiseApi('navigateBack', () => ok('navigateBack')),
    stopPullDownRefresh: promiseApi('stopPullDownRefresh', () => ok('stopPullDownRefresh')),

    getStorageSync(key) {
      record('getStorageSync', { key })
      return storage.has(key) ? realmJSON.parse(JSON.stringify(storage.get(key))) : ''
    },
    setStorageSync(key, value) {
      record('setStorageSync', { key, value })
      storage.set(key, jsonClone(value))
    },
    removeStorageSync(key) {
      record('removeStorageSync', { key })
      storage.delete(key)
    },
  }

  fake.wx = wx
  return fake
}

module.exports = { createFakeWx, TransportError }
