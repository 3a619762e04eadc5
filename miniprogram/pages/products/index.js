// Product list. UI orchestration only: the data comes from services/catalog.

const catalog = require('../../services/catalog')
const ui = require('../../utils/ui')

Page({
  data: {
    /** 'loading' | 'ready' | 'empty' | 'error' */
    status: 'loading',
    /** @type {import('../../services/catalog').ProductView[]} */
    products: [],
    errorMessage: ''
  },

  onLoad() {
    return this.load()
  },

  onPullDownRefresh() {
    return this.load().then(function () { wx.stopPullDownRefresh({}) })
  },

  async load() {
    this.setData({ status: 'loading', errorMessage: '' })
    try {
      const products = await catalog.listProducts()
      this.setData({ status: products.length ? 'ready' : 'empty', products: products })
    } catch (err) {
      this.setData({ status: 'error', errorMessage: ui.errorText(err) })
    }
  },

  onRetryTap() {
    return this.load()
  },

  /** @param {WechatMiniprogram.BaseEvent} event */
  onProductTap(event) {
    const id = event.currentTarget.dataset.id
    if (id === undefined || id === null || id === '') return
    ui.navigateTo('/pages/confirm/index', { productId: id })
  },

  onOrdersTap() {
    ui.navigateTo('/pages/orders/index')
  }
})
