// Order confirmation: choose a quantity, place the order, then pay.
// The total shown is the one the SERVER computed for the created order; the client only shows
// the unit price before that. Both buttons are guarded against double taps.

const catalog = require('../../services/catalog')
const checkout = require('../../services/checkout')
const orders = require('../../services/orders')
const ui = require('../../utils/ui')

const MIN_QUANTITY = 1
const MAX_QUANTITY = 99

Page({
  data: {
    /** 'loading' | 'ready' | 'missing' | 'error' */
    status: 'loading',
    errorMessage: '',
    /** @type {import('../../services/catalog').ProductView | null} */
    product: null,
    quantity: MIN_QUANTITY,
    minQuantity: MIN_QUANTITY,
    maxQuantity: MAX_QUANTITY,
    /** @type {import('../../services/orders').OrderView | null} the created order, as the server sent it */
    order: null,
    placing: false,
    paying: false
  },

  // Not rendered. The current checkout attempt (items + Idempotency-Key) and the tap guards.
  /** @type {import('../../services/checkout').Attempt | null} */
  _attempt: null,
  _placing: false,
  _paying: false,
  _productId: '',

  /** @param {Record<string, string | undefined>} query */
  onLoad(query) {
    this._productId = (query && query.productId) || ''
    return this.load()
  },

  async load() {
    this.setData({ status: 'loading', errorMessage: '' })
    try {
      const product = await catalog.findProduct(this._productId)
      this.setData({ status: product ? 'ready' : 'missing', product: product })
    } catch (err) {
      this.setData({ status: 'error', errorMessage: ui.errorText(err) })
    }
  },

  onRetryTap() {
    return this.load()
  },

  onMinusTap() {
    this.changeQuantity(-1)
  },

  onPlusTap() {
    this.changeQuantity(1)
  },

  /** @param {number} delta */
  changeQuantity(delta) {
    if (this.data.order || this._placing) return
    const next = Math.min(MAX_QUANTITY, Math.max(MIN_QUANTITY, this.data.quantity + delta))
    if (next === this.data.quantity) return
    this._attempt = null // other items: a new attempt with a new Idempotency-Key
    this.setData({ quantity: next })
  },

  async onPlaceOrderTap() {
    const product = this.data.product
    if (this._placing || this.data.order || !product) return
    this._placing = true
    this.setData({ placing: true })
    if (!this._attempt) {
      this._attempt = checkout.newAttempt([{ product_id: product.id, quantity: this.data.quantity }])
    }
    ui.showLoading('Creating order')
    try {
      const order = await checkout.placeOrder(this._attempt)
      ui.hideLoading()
      this.setData({ order: orders.toOrderView(order) })
    } catch (err) {
      // Unknown outcome (network, 5xx): keep the attempt so a second tap reuses its key.
      if (!checkout.canRetrySameAttempt(err)) this._attempt = null
      await ui.alert('Could not create the order', ui.errorText(err))
    } finally {
      this._placing = false
      this.setData({ placing: false })
    }
  },

  async onPayTap() {
    const order = this.data.order
    if (this._paying || !order) return
    this._paying = true
    this.setData({ paying: true })
    const result = await checkout.pay(order.id)
    if (result.status === 'ok' || result.orderSettled) {
      // Only the server knows whether it is paid: the result page asks it.
      ui.redirectTo('/pages/result/index', { orderId: order.id })
      return // stay guarded: this page is going away
    }
    this._paying = false
    this.setData({ paying: false })
    if (result.status === 'cancel') {
      ui.toast('Payment cancelled')
    } else {
      await ui.alert('Payment failed', result.message)
    }
  }
})
