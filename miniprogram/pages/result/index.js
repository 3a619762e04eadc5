// Payment result: shows what the SERVER says about the order, never what the cashier said.
// Polls through services/confirmation; if WeChat Pay has not confirmed yet it says so and
// offers a refresh.

const confirmation = require('../../services/confirmation')
const orders = require('../../services/orders')
const ui = require('../../utils/ui')

Page({
  data: {
    /** 'checking' | 'paid' | 'refunded' | 'closed' | 'pending' | 'error' */
    state: 'checking',
    /** @type {import('../../services/orders').OrderView | null} */
    order: null,
    errorMessage: ''
  },

  _orderId: '',
  _checking: false,
  _unloaded: false,

  /** @param {Record<string, string | undefined>} query */
  onLoad(query) {
    this._orderId = (query && query.orderId) || ''
    return this.check()
  },

  onUnload() {
    this._unloaded = true
  },

  async check() {
    if (this._checking) return
    if (!this._orderId) {
      this.setData({ state: 'error', errorMessage: 'No order to check.' })
      return
    }
    this._checking = true
    this.setData({ state: 'checking', errorMessage: '' })
    const self = this
    const result = await confirmation.confirm(this._orderId, {
      shouldStop: function () { return self._unloaded }
    })
    this._checking = false
    if (result.state === 'stopped') return
    /** @type {Record<string, any>} */
    const patch = { state: result.state, errorMessage: result.error ? ui.errorText(result.error) : '' }
    if (result.order) patch.order = orders.toOrderView(result.order)
    this.setData(patch)
  },

  onRefreshTap() {
    return this.check()
  },

  onOrderTap() {
    if (this._orderId) ui.redirectTo('/pages/order-detail/index', { id: this._orderId })
  },

  onHomeTap() {
    wx.reLaunch({ url: '/pages/products/index' })
  }
})
