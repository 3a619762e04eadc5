// Browser boot for the REAL miniprogram/ files on miniprogram-simulate's browser bundle.
// Plain ES5, no Node: loaded as a <script> after
//   1. the wx shim (window.__wxShim),
//   2. node_modules/miniprogram-simulate/build.js (defines window.simulate and window.require),
//   3. window.__FILE_MAP__ = {'pages/products/index.js': '...', 'utils/request.js': '...', ...}
//      (every file under miniprogram/, keyed by its path relative to miniprogram/).
// Used by the jsdom render test (tests/miniprogram/render/browser-bundle.render.test.js) and
// meant for the Playwright harness and /preview/ as they are.
//
// What it fixes (research P2, P6, P7):
// - simulate's browser loader has no module cache: services with module state (the shared
//   in-flight login, the loading flag) must be ONE instance per path, as in WeChat;
// - it would read 'x.js.js' for require('x.js'): a trailing .js is stripped;
// - simulate has no Page(): Page({...}) becomes a Component, non-function fields are copied
//   onto each instance, lifecycles are called by mppayBoot (onLoad) and the harness (onUnload);
// - simulate merges its own wx mocks into window.wx: window.wx is reset to the shim.
(function () {
  'use strict'
  var simulate = window.simulate
  if (!simulate || typeof window.require !== 'function') {
    throw new Error('boot.js: load miniprogram-simulate/build.js first')
  }

  if (window.__wxShim) window.wx = window.__wxShim

  var rawRequire = window.require
  var cache = {}
  window.require = function (p) {
    p = String(p).replace(/\.js$/, '').replace(/^\/+/, '')
    if (!Object.prototype.hasOwnProperty.call(cache, p)) cache[p] = rawRequire(p)
    return cache[p]
  }

  var app = { globalData: {} }
  var pages = []
  window.getApp = function () { return app }
  window.getCurrentPages = function () { return pages.slice() }

  window.Page = function (def) {
    var methods = {}
    var extra = {}
    Object.keys(def).forEach(function (key) {
      if (key === 'data') return
      if (typeof def[key] === 'function') methods[key] = def[key]
      else extra[key] = def[key]
    })
    window.Component({
      data: def.data || {},
      methods: methods,
      lifetimes: {
        created: function () {
          Object.assign(this, JSON.parse(JSON.stringify(extra)))
        }
      }
    })
  }

  // app.js calls App({...}): keep its globalData.
  window.App = function (def) {
    if (def && def.globalData) app.globalData = def.globalData
  }
  if (window.__FILE_MAP__ && window.__FILE_MAP__['app.js']) window.require('app')

  /**
   * Renders a page into `mount` and runs its onLoad(query).
   * @param {string} route e.g. 'pages/products/index' (a leading '/' is accepted)
   * @param {Object} query the page query, values as strings (as WeChat passes them)
   * @param {Element} mount
   * @returns {Promise<Object>} the j-component page (page.instance is the page's `this`)
   */
  window.mppayBoot = function (route, query, mount) {
    route = String(route).replace(/^\/+/, '')
    var page = simulate.render(simulate.load(route, { compiler: 'simulate', rootPath: '' }))
    page.attach(mount)
    page.route = route
    pages.push(page.instance)
    // As in WeChat: onLoad, then onShow at once (not after onLoad's async work).
    var loaded = page.instance.onLoad ? page.instance.onLoad(query || {}) : undefined
    if (page.instance.onShow) page.instance.onShow()
    return Promise.resolve(loaded).then(function () { return page })
  }

  /** Parses '/pages/x/index?a=1&b=2' into {route, query} for a navigateTo/redirectTo shim. */
  window.mppayParseUrl = function (url) {
    var parts = String(url).split('?')
    var query = {}
    ;(parts[1] || '').split('&').forEach(function (pair) {
      if (!pair) return
      var kv = pair.split('=')
      query[decodeURIComponent(kv[0])] = decodeURIComponent(kv.slice(1).join('=') || '')
    })
    return { route: parts[0].replace(/^\/+/, ''), query: query }
  }
})()
