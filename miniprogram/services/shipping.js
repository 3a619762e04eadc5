// Shipping of a paid order (发货信息管理) and the buyer's "confirm receipt".
//
//   order.shipping                          {state, logistics_type, merchant_id, tracking: [{express_company, tracking_no}]}
//   GET /api/orders/{id}/shipping?refresh=true   the same object, after the service asked WeChat
//
// The confirmation itself happens in WeChat's own page (wx.openBusinessView with businessType
// 'weappOrderConfirm'); what the app shows afterwards is the server's answer, never the
// page's callback (DESIGN example 7: a display, not a witness).

const api = require('../utils/request')
const wxp = require('../utils/wx-promise')

/** @type {Record<string, string>} */
const STATE_TEXT = {
  NOT_REQUIRED: 'No shipping needed',
  PENDING_UPLOAD: 'Waiting to ship',
  UPLOADED: 'Shipped',
  CONFIRMED: 'Received',
  SETTLED: 'Completed'
}

/** @type {Record<string, string>} */
const LOGISTICS_TEXT = { '1': 'Express', '2': 'Local delivery', '3': 'Virtual goods', '4': 'Self pick-up' }

/**
 * @typedef {{state: string, stateText: string, logisticsText: string,
 *   tracking: {key: string, text: string}[], canConfirm: boolean}} ShippingView
 */

/**
 * What a page shows about an order's shipping, from the server's JSON only; null without one.
 * @param {any} shipping
 * @returns {ShippingView | null}
 */
function toShippingView(shipping) {
  if (!shipping || typeof shipping !== 'object' || typeof shipping.state !== 'string') return null
  const tracking = Array.isArray(shipping.tracking) ? shipping.tracking : []
  return {
    state: shipping.state,
    stateText: STATE_TEXT[shipping.state] || shipping.state,
    logisticsText: LOGISTICS_TEXT[String(shipping.logistics_type)] || '',
    tracking: tracking.map(function (/** @type {any} */ t, /** @type {number} */ i) {
      return { key: String(i), text: [t.express_company, t.tracking_no].filter(Boolean).join(' ') }
    }),
    // Only shipped goods can be confirmed; WeChat's page refuses anything else anyway.
    canConfirm: shipping.state === 'UPLOADED'
  }
}

/**
 * @param {string | number} orderId
 * @returns {Promise<any>} the shipping object after the service asked WeChat
 */
async function refreshShipping(orderId) {
  const data = await api.request({
    method: 'GET',
    path: '/api/orders/' + encodeURIComponent(String(orderId)) + '/shipping',
    query: { refresh: 'true' }
  })
  if (!data || typeof data.state !== 'string') {
    throw new api.ApiError({ status: 200, code: 'BAD_RESPONSE', message: 'The server sent an unexpected shipping state', data: data })
  }
  return data
}

/**
 * Opens WeChat's confirm-receipt page for the order, then asks the server for the state.
 * Resolves {opened, shipping}; `opened` false when WeChat's page could not be opened (old
 * WeChat, or the user backed out): the server's state is still read and shown.
 * @param {any} order the order JSON (transaction_id, out_trade_no, shipping.merchant_id)
 * @returns {Promise<{opened: boolean, errMsg: string, shipping: any}>}
 */
async function confirmReceipt(order) {
  let opened = true
  let errMsg = ''
  const extraData = {
    merchant_id: String((order.shipping && order.shipping.merchant_id) || ''),
    merchant_trade_no: String(order.out_trade_no || ''),
    transaction_id: String(order.transaction_id || '')
  }
  try {
    await wxp.call('openBusinessView', { businessType: 'weappOrderConfirm', extraData: extraData })
  } catch (err) {
    opened = false
    errMsg = String((err && /** @type {any} */ (err).errMsg) || err)
  }
  const shipping = await refreshShipping(order.id)
  return { opened: opened, errMsg: errMsg, shipping: shipping }
}

module.exports = {
  toShippingView: toShippingView,
  refreshShipping: refreshShipping,
  confirmReceipt: confirmReceipt,
  STATE_TEXT: STATE_TEXT
}
