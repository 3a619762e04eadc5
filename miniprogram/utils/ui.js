// Thin UI helpers shared by pages and by services/checkout.
//
// showLoading and showToast share ONE slot on the platform (research P13): toast() and alert()
// hide a loading indicator first, and services/checkout hides it before the cashier opens.
// Every call goes through wx-promise (the wx call itself happens synchronously) so that a
// platform failure can never surface as an "Uncaught (in promise)".

const wxp = require('./wx-promise')

let loadingShown = false

function ignore() {}

/** @param {string} title */
function showLoading(title) {
  loadingShown = true
  /** @type {WechatMiniprogram.ShowLoadingOption} */
  const options = { title: title, mask: true }
  wxp.call('showLoading', options).catch(ignore)
}

function hideLoading() {
  if (!loadingShown) return
  loadingShown = false
  wxp.call('hideLoading', {}).catch(ignore)
}

/**
 * @param {string} title
 * @param {'success' | 'error' | 'none'} [icon]
 */
function toast(title, icon) {
  hideLoading()
  /** @type {WechatMiniprogram.ShowToastOption} */
  const options = { title: title, icon: icon || 'none', duration: 2000 }
  wxp.call('showToast', options).catch(ignore)
}

/**
 * A message with a single OK button. Resolves when dismissed (or if the modal fails).
 * @param {string} title
 * @param {string} content
 * @returns {Promise<void>}
 */
function alert(title, content) {
  hideLoading()
  /** @type {WechatMiniprogram.ShowModalOption} */
  const options = { title: title, content: content || '', showCancel: false }
  return wxp.call('showModal', options)
    .then(function () {}, function () {})
}

/**
 * OK / Cancel. Resolves true only for an explicit confirm (a failed modal counts as "no").
 * @param {string} title
 * @param {string} content
 * @param {string} [confirmText] at most 4 Chinese characters on the platform
 * @returns {Promise<boolean>}
 */
function confirm(title, content, confirmText) {
  hideLoading()
  /** @type {WechatMiniprogram.ShowModalOption} */
  const options = { title: title, content: content || '', confirmText: confirmText || 'OK' }
  return wxp.call('showModal', options)
    .then(function (res) { return !!(res && res.confirm) }, function () { return false })
}

/**
 * @param {string} path e.g. '/pages/result/index'
 * @param {Record<string, string | number | undefined>} [query]
 */
function pageUrl(path, query) {
  const parts = []
  if (query) {
    for (const key of Object.keys(query)) {
      const value = query[key]
      if (value === undefined || value === null) continue
      parts.push(encodeURIComponent(key) + '=' + encodeURIComponent(String(value)))
    }
  }
  return path + (parts.length ? '?' + parts.join('&') : '')
}

/**
 * @param {string} path
 * @param {Record<string, string | number | undefined>} [query]
 */
function navigateTo(path, query) {
  wx.navigateTo({ url: pageUrl(path, query) })
}

/**
 * @param {string} path
 * @param {Record<string, string | number | undefined>} [query]
 */
function redirectTo(path, query) {
  wx.redirectTo({ url: pageUrl(path, query) })
}

/**
 * What to tell the user about an error (the service's message when it sent one).
 * @param {any} err
 * @returns {string}
 */
function errorText(err) {
  if (err && typeof err.message === 'string' && err.message) return err.message
  return 'Something went wrong, please try again'
}

module.exports = {
  showLoading: showLoading,
  hideLoading: hideLoading,
  toast: toast,
  alert: alert,
  confirm: confirm,
  pageUrl: pageUrl,
  navigateTo: navigateTo,
  redirectTo: redirectTo,
  errorText: errorText
}
