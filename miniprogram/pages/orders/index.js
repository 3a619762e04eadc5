// My orders: newest first, one page at a time (cursor pagination on the server).

const config = require('../../config')
const orders = require('../../services/orders')
const ui = require('../../utils/ui')

Page({
  data: {
    /** 'loading' | 'ready' | 'empty' | 'error' */
    status: 'loading',
    /** @type {import('../../services/orders').OrderView[]} */
    items: [],
    hasMore: false,
    loadingMore: false,
    errorMessage: ''
  },

  /** @type {string | null} */
  _nextCursor: null,
  _loadingMore: false,
  _loaded: false,
  _shown: false,

  onLoad() {
    return this.reload()
  },

  onShow() {
    // WeChat calls onShow right after onLoad: only later shows (coming back from an order's
    // detail, where it may have been paid or cancelled) reload, to show the current truth.
    if (!this._shown) {
      this._shown = true
      return
    }
    if (this._loaded) return this.reload()
  },

  onPullDownRefresh() {
    return this.reload().then(function () { wx.stopPullDownRefresh({}) })
  },

  onReachBottom() {
    return this.loadMore()
  },

  async reload() {
    this.setData({ status: this.data.items.length ? this.data.status : 'loading', errorMessage: '' })
    try {
      const page = await orders.listOrders({ limit: config.ordersPageSize })
      this._nextCursor = page.nextCursor
      this._loaded = true
      this.setData({
        status: page.items.length ? 'ready' : 'empty',
        items: page.items.map(orders.toOrderView),
        hasMore: !!page.nextCursor
      })
    } catch (err) {
      this.setData({ status: 'error', errorMessage: ui.errorText(err) })
    }
  },

  async loadMore() {
    if (this._loadingMore || !this._nextCursor) return
    this._loadingMore = true
    this.setData({ loadingMore: true })
    try {
      const page = await orders.listOrders({ limit: config.ordersPageSize, cursor: this._nextCursor })
      this._nextCursor = page.nextCursor
      // Skip orders already listed (a new order may have shifted the pages).
      /** @type {Record<string, boolean>} */
      const seen = {}
      for (const item of this.data.items) seen[item.id] = true
      const fresh = page.items.map(orders.toOrderView).filter(function (view) { return !seen[view.id] })
      this.setData({ items: this.data.items.concat(fresh), hasMore: !!page.nextCursor })
    } catch (err) {
      ui.toast(ui.errorText(err))
    } finally {
      this._loadingMore = false
      this.setData({ loadingMore: false })
    }
  },

  onLoadMoreTap() {
    return this.loadMore()
  },

  onRetryTap() {
    return this.reload()
  },

  /** @param {WechatMiniprogram.BaseEvent} event */
  onOrderTap(event) {
    const id = event.currentTarget.dataset.id
    if (id) ui.navigateTo('/pages/order-detail/index', { id: id })
  }
})
