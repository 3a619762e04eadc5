// One promise wrapper for wx's callback-style APIs.
//
// wx.login and wx.request have no promise style (research P11), and promise-capable APIs
// reject with plain objects. call() gives every API the same shape: it resolves with the
// success result and rejects with a WxError that carries the platform's errMsg / errno.
//
// requestPayment on old WeChat (<= 6.5.2) reported a cancel through `complete` only, with
// errMsg 'requestPayment:cancel' and no `fail`: complete() settles the promise in that case.

class WxError extends Error {
  /**
   * @param {string} api   the wx API name, e.g. 'requestPayment'
   * @param {any} result   the fail / complete result as the platform passed it
   */
  constructor(api, result) {
    const errMsg = result && typeof result.errMsg === 'string' ? result.errMsg : api + ':fail'
    super(errMsg)
    this.name = 'WxError'
    this.api = api
    this.errMsg = errMsg
    /** @type {number | undefined} */
    this.errno = result && typeof result.errno === 'number' ? result.errno : undefined
    this.result = result
  }
}

/** @param {any} result */
function isOkResult(result) {
  return !!result && typeof result.errMsg === 'string' && /:ok$/.test(result.errMsg)
}

/**
 * Calls wx[apiName](options) and returns a promise of its success result.
 * The options object is copied and only success / fail / complete are added, so every value
 * the caller passes reaches the platform exactly as given.
 *
 * @param {string} apiName
 * @param {object} [options]
 * @returns {Promise<any>}
 */
function call(apiName, options) {
  return new Promise(function (resolve, reject) {
    let settled = false
    /** @param {boolean} ok @param {any} result */
    function settle(ok, result) {
      if (settled) return
      settled = true
      if (ok) resolve(result)
      else reject(new WxError(apiName, result))
    }
    /** @type {any} */
    const api = /** @type {any} */ (wx)[apiName]
    if (typeof api !== 'function') {
      settle(false, { errMsg: apiName + ':fail not supported' })
      return
    }
    try {
      api.call(wx, Object.assign({}, options, {
        /** @param {any} res */
        success: function (res) { settle(true, res) },
        /** @param {any} res */
        fail: function (res) { settle(false, res) },
        /** @param {any} res */
        complete: function (res) { settle(isOkResult(res), res) }
      }))
    } catch (err) {
      settle(false, { errMsg: apiName + ':fail ' + (err && /** @type {any} */ (err).message || String(err)) })
    }
  })
}

/**
 * Resolves after ms milliseconds (0 still yields to the event loop).
 * @param {number} ms
 * @returns {Promise<void>}
 */
function sleep(ms) {
  return new Promise(function (resolve) { setTimeout(resolve, ms) })
}

module.exports = {
  call: call,
  sleep: sleep,
  isOkResult: isOkResult,
  WxError: WxError
}
