// One order: its server-side state, and the two things a user may do with an unpaid order:
// pay it or cancel it.

const checkout = require('../../services/checkout')
const orders = require('../../services/orders')
const shipping = require('../../services/shipping')
const ui = require('../../utils/ui')

Page({
  data: {
    /** 'loading' | 'ready' | 'error' */
    status: 'loading',
    /** @type {import('../../services/orders').OrderView | null} */
    order: null,
    errorMessage: '',
    busy: false
  },

  _orderId: '',
  _busy: false,
  /** @type {any} the order JSON as the server last sent it */
  _raw: null,

  /** @param {Record<string, string | undefined>} query */
  onLoad(query) {
    this._orderId = (query && query.id) || ''
    return this.load(false)
  },

  /** @param {boolean} refresh ask the service to check with WeChat Pay first */
  async load(refresh) {
    if (!this.data.order) this.setData({ status: 'loading', errorMessage: '' })
    try {
      const order = await orders.getOrder(this._orderId, { refresh: refresh })
      this._raw = order
      this.setData({ status: 'ready', order: orders.toOrderView(order), errorMessage: '' })
    } catch (err) {
      this.setData({ status: this.data.order ? 'ready' : 'error', errorMessage: ui.errorText(err) })
    }
  },

  onRefreshTap() {
    return this.load(true)
  },

  async onCancelTap() {
    const order = this.data.order
    if (this._busy || !order || !order.canCancel) return
    this._busy = true
    this.setData({ busy: true })
    try {
      const sure = await ui.confirm('Cancel this order?', 'A cancelled order cannot be paid later.', 'Yes')
      if (!sure) return
      ui.showLoading('Cancelling')
      const view = orders.toOrderView(await orders.cancelOrder(order.id))
      ui.hideLoading()
      this.setData({ order: view })
      // The server's answer decides what is said (e.g. it was paid meanwhile).
      ui.toast(view.status === 'CLOSED' ? 'Order cancelled' : 'Order is ' + view.statusText)
    } catch (err) {
      await ui.alert('Could not cancel the order', ui.errorText(err))
      await this.load(false)
    } finally {
      this._busy = false
      this.setData({ busy: false })
    }
  },

  // Confirm receipt happens in WeChat's own page; afterwards the server's state is shown.
  async onConfirmReceiptTap() {
    const order = this.data.order
    if (this._busy || !order || !order.shipping || !order.shipping.canConfirm || !this._raw) return
    this._busy = true
    this.setData({ busy: true })
    try {
      const result = await shipping.confirmReceipt(this._raw)
      const view = shipping.toShippingView(result.shipping)
      this._raw = Object.assign({}, this._raw, { shipping: result.shipping })
      this.setData({ 'order.shipping': view })
      if (!result.opened) ui.toast('Could not open the confirmation')
      else if (view) ui.toast(view.stateText)
    } catch (err) {
      await ui.alert('Could not confirm receipt', ui.errorText(err))
    } finally {
      this._busy = false
      this.setData({ busy: false })
    }
  },

  async onPayTap() {
    const order = this.data.order
    if (this._busy || !order || !order.canPay) return
    this._busy = true
    this.setData({ busy: true })
    const result = await checkout.pay(order.id)
    if (result.status === 'ok' || result.orderSettled) {
      ui.redirectTo('/pages/result/index', { orderId: order.id })
      return
    }
    this._busy = false
    this.setData({ busy: false })
    if (result.status === 'cancel') ui.toast('Payment cancelled')
    else await ui.alert('Payment failed', result.message)
  }
})
