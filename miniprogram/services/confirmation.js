// Confirmation: after the cashier closes, ask the SERVER whether the order is paid.
//
// Polls GET /api/orders/{id}?refresh=true (the service queries WeChat Pay when it has not heard
// yet) with exponential backoff until the order is final, or gives up and says "pending":
// an honest "not confirmed yet", never a guess of "paid".

const config = require('../config')
const orders = require('./orders')
const wxp = require('../utils/wx-promise')

/** Order status -> what the result page shows. Anything else is still pending. */
const FINAL_STATES = {
  PAID: 'paid',
  PARTIALLY_REFUNDED: 'refunded',
  REFUNDED: 'refunded',
  CLOSED: 'closed'
}

/**
 * @typedef {'paid' | 'refunded' | 'closed' | 'pending' | 'error' | 'stopped'} ConfirmState
 * @typedef {{state: ConfirmState, order: any, error: any, attempts: number}} ConfirmResult
 */

/**
 * @param {any} order
 * @returns {'paid' | 'refunded' | 'closed' | 'pending'}
 */
function stateOf(order) {
  return /** @type {any} */ (FINAL_STATES)[order && order.status] || 'pending'
}

/**
 * Worth asking again after this error? Yes if the outcome is unknown (no answer, 5xx, 429);
 * no for a definite answer such as 404.
 * @param {any} err
 */
function isRetryable(err) {
  if (!err) return false
  if (err.network === true) return true
  return typeof err.status === 'number' && (err.status >= 500 || err.status === 429)
}

/**
 * @param {string | number} orderId
 * @param {{attempts?: number, initialDelayMs?: number, maxDelayMs?: number, factor?: number,
 *          sleep?: (ms: number) => Promise<void>, shouldStop?: () => boolean}} [opts]
 * @returns {Promise<ConfirmResult>} never rejects
 */
async function confirm(orderId, opts) {
  const o = opts || {}
  const attempts = o.attempts || config.poll.attempts
  const maxDelay = typeof o.maxDelayMs === 'number' ? o.maxDelayMs : config.poll.maxDelayMs
  const factor = o.factor || config.poll.factor
  const sleep = o.sleep || wxp.sleep
  let delay = typeof o.initialDelayMs === 'number' ? o.initialDelayMs : config.poll.initialDelayMs
  let lastOrder = null
  let lastError = null
  for (let i = 0; i < attempts; i++) {
    if (i > 0) {
      await sleep(delay)
      delay = Math.min(delay * factor, maxDelay)
    }
    if (o.shouldStop && o.shouldStop()) {
      return { state: 'stopped', order: lastOrder, error: lastError, attempts: i }
    }
    try {
      const order = await orders.getOrder(orderId, { refresh: true })
      lastOrder = order
      lastError = null
      const state = stateOf(order)
      if (state !== 'pending') return { state: state, order: order, error: null, attempts: i + 1 }
    } catch (err) {
      if (!isRetryable(err)) return { state: 'error', order: lastOrder, error: err, attempts: i + 1 }
      lastError = err
    }
  }
  return { state: 'pending', order: lastOrder, error: lastError, attempts: attempts }
}

module.exports = {
  confirm: confirm,
  stateOf: stateOf,
  isRetryable: isRetryable,
  FINAL_STATES: FINAL_STATES
}
