// Display helpers for order data (no business decisions here: statuses come from the server).

const money = require('./money')

const STATUS_TEXT = {
  PENDING: 'Awaiting payment',
  PAID: 'Paid',
  CLOSED: 'Closed',
  PARTIALLY_REFUNDED: 'Partially refunded',
  REFUNDED: 'Refunded'
}

/**
 * @param {string} status one of the service's order statuses
 * @returns {string}
 */
function statusText(status) {
  return /** @type {Record<string, string>} */ (STATUS_TEXT)[status] || status || 'Unknown'
}

/**
 * Parses the service's ISO 8601 timestamps. Python's isoformat() may carry microseconds
 * ("...:00.123456+00:00"), which not every phone's JS engine accepts: cut to milliseconds.
 * @param {any} value
 * @returns {number | null} epoch ms, or null if absent / unparseable
 */
function parseIso(value) {
  if (typeof value !== 'string' || !value) return null
  const ms = Date.parse(value.replace(/(\.\d{3})\d+/, '$1'))
  return isNaN(ms) ? null : ms
}

/** @param {number} n */
function pad2(n) {
  return (n < 10 ? '0' : '') + String(n)
}

/**
 * @param {any} value an ISO 8601 timestamp from the service
 * @returns {string} "YYYY-MM-DD HH:mm" in the phone's time zone, or '' if absent / unparseable
 */
function formatTime(value) {
  const ms = parseIso(value)
  if (ms === null) return ''
  const d = new Date(ms)
  return d.getFullYear() + '-' + pad2(d.getMonth() + 1) + '-' + pad2(d.getDate()) +
    ' ' + pad2(d.getHours()) + ':' + pad2(d.getMinutes())
}

/**
 * @param {any} fen
 * @returns {string} "¥19.90", or '' when the server sent no amount
 */
function priceOrEmpty(fen) {
  return typeof fen === 'number' ? money.formatPrice(fen) : ''
}

module.exports = {
  statusText: statusText,
  parseIso: parseIso,
  formatTime: formatTime,
  priceOrEmpty: priceOrEmpty
}
