// Checkout: create the order, get the server-signed parameters, open the cashier, classify.
//
// The client is a display, not a witness (DESIGN example 7):
// - it never prices anything: the total shown is the order's amount_total_fen from the server;
// - the parameters from POST /api/orders/{id}/pay go to wx.requestPayment untouched;
// - 'ok' from the cashier only means "go and ask the server" (services/confirmation).
//
// Idempotency: one checkout *attempt* = one set of items = one Idempotency-Key, generated here.
// A network error while creating the order is retried with the SAME key (the first request may
// have reached the server); a new attempt (other items, or after a definite refusal) gets a
// fresh key.

const config = require('../config')
const orders = require('./orders')
const ui = require('../utils/ui')
const wxp = require('../utils/wx-promise')

/**
 * @typedef {{key: string, items: {product_id: string | number, quantity: number}[]}} Attempt
 * @typedef {{status: 'ok' | 'cancel' | 'fail', stage: 'prepare' | 'cashier', message: string,
 *   errMsg?: string, error?: any, orderSettled?: boolean}} PayResult
 */

/** @param {number} n */
function randomHex(n) {
  let out = ''
  for (let i = 0; i < n; i++) out += Math.floor(Math.random() * 16).toString(16)
  return out
}

/**
 * A new idempotency key: unique per attempt (it is not a secret, it only has to be unique).
 * @returns {string}
 */
function newIdempotencyKey() {
  return 'mp-' + Date.now().toString(36) + '-' + randomHex(16)
}

/**
 * @param {{product_id: string | number, quantity: number}[]} items
 * @returns {Attempt}
 */
function newAttempt(items) {
  return {
    key: newIdempotencyKey(),
    items: items.map(function (item) { return { product_id: item.product_id, quantity: item.quantity } })
  }
}

/**
 * Whether a failed attempt may be retried with the same key: yes when the outcome is unknown
 * (no answer, or a server error), no when the server definitely refused (4xx).
 * @param {any} err
 */
function canRetrySameAttempt(err) {
  return !!err && (err.network === true || (typeof err.status === 'number' && err.status >= 500))
}

/**
 * Creates the order of an attempt. Network errors are retried with the attempt's key.
 * @param {Attempt} attempt
 * @param {{retries?: number, retryDelayMs?: number}} [opts]
 * @returns {Promise<any>} the order as the server created it (amount computed by the server)
 */
async function placeOrder(attempt, opts) {
  const retries = opts && typeof opts.retries === 'number' ? opts.retries : config.createOrderRetries
  const delay = opts && typeof opts.retryDelayMs === 'number' ? opts.retryDelayMs : config.createOrderRetryDelayMs
  for (let i = 0; ; i++) {
    try {
      return await orders.createOrder(attempt.items, attempt.key)
    } catch (err) {
      if (!(err && /** @type {any} */ (err).network) || i >= retries) throw err
      await wxp.sleep(delay)
    }
  }
}

/**
 * Maps a wx.requestPayment failure to cancel / fail.
 * 'requestPayment:fail cancel' and the historical 'requestPayment:cancel' (WeChat <= 6.5.2,
 * reported through `complete` only) are a cancel; anything else is a failure.
 * @param {any} err
 * @returns {PayResult}
 */
function classifyPaymentError(err) {
  const errMsg = err && typeof err.errMsg === 'string' ? err.errMsg : String(err)
  if (/:(fail[ :])?cancel\b/.test(errMsg)) {
    return { status: 'cancel', stage: 'cashier', message: 'Payment cancelled', errMsg: errMsg }
  }
  return { status: 'fail', stage: 'cashier', message: 'Payment failed: ' + errMsg, errMsg: errMsg, error: err }
}

/**
 * Gets the signed parameters for an order and opens the cashier with them.
 * The loading indicator covers only the server call: it is hidden BEFORE wx.requestPayment
 * so it never sits over the cashier (research P13).
 *
 * @param {string | number} orderId
 * @returns {Promise<PayResult>} never rejects
 */
async function pay(orderId) {
  let params
  ui.showLoading('Preparing payment')
  try {
    params = await orders.getPayParams(orderId)
  } catch (err) {
    ui.hideLoading()
    const e = /** @type {any} */ (err)
    return {
      status: 'fail',
      stage: 'prepare',
      message: e && e.message ? e.message : 'Could not start the payment',
      error: err,
      // 409: the order is already paid or closed; only the server can say which
      orderSettled: !!e && e.status === 409
    }
  }
  ui.hideLoading()
  try {
    /** @type {WechatMiniprogram.RequestPaymentOption} the server's object itself, untouched */
    const options = params
    const res = await wxp.call('requestPayment', options)
    return { status: 'ok', stage: 'cashier', message: 'Payment submitted', errMsg: res && res.errMsg }
  } catch (err) {
    return classifyPaymentError(err)
  }
}

module.exports = {
  newIdempotencyKey: newIdempotencyKey,
  newAttempt: newAttempt,
  canRetrySameAttempt: canRetrySameAttempt,
  placeOrder: placeOrder,
  classifyPaymentError: classifyPaymentError,
  pay: pay
}
