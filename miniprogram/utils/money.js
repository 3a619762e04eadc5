// Money arrives from the service as integer fen (1 yuan = 100 fen) and is only ever formatted,
// never computed with, on the client. Integer arithmetic only: no float division, so no
// 0.1 + 0.2 style rounding in what the user sees.

/**
 * @param {number} fen an integer amount in fen
 * @returns {string} yuan with two decimals: 1 -> "0.01", 1990 -> "19.90", -5 -> "-0.05"
 */
function formatFen(fen) {
  if (typeof fen !== 'number' || !Number.isSafeInteger(fen)) {
    throw new TypeError('amount must be an integer number of fen, got ' + JSON.stringify(fen))
  }
  const sign = fen < 0 ? '-' : ''
  const abs = Math.abs(fen)
  const rest = abs % 100
  const yuan = (abs - rest) / 100 // an exact multiple of 100 divided by 100: an exact integer
  return sign + String(yuan) + '.' + (rest < 10 ? '0' : '') + String(rest)
}

/**
 * @param {number} fen
 * @returns {string} e.g. "¥19.90"
 */
function formatPrice(fen) {
  return '¥' + formatFen(fen)
}

module.exports = {
  formatFen: formatFen,
  formatPrice: formatPrice
}
