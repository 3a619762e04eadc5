// The `wx` of the browser preview and of the end-to-end tests: the surface the Mini Program
// uses (docs/miniprogram.md, "Browser harness contract"), implemented over the browser and the
// mppay sandbox. Loaded after /preview/config.js (window.__MPPAY_PREVIEW__) and BEFORE
// miniprogram-simulate's build.js; harness/boot.js then makes window.wx this object again.
//
//   request         fetch to this page's origin: the apiBase of miniprogram/config.js is
//                   rewritten here, so the app's files stay as they are. success for ANY HTTP
//                   status, fail only without an HTTP answer (timeout, network, abort, a URL
//                   outside the request domain list). Returns a RequestTask ({abort}).
//   login           POST /preview/sandbox/login (relayed to the emulator's /sandbox/login);
//                   the openid it answers is remembered for requestPayment.
//   requestPayment  the emulator's cashier page in an iframe over the phone screen, given the
//                   params untouched plus appId and the openid of the logged-in user; it posts
//                   {type:'wx-cashier-result', errMsg} back; ':ok' -> success, else fail.
//   openBusinessView  businessType 'weappOrderConfirm' only: the buyer confirms receipt in
//                   WeChat's page; here POST /preview/sandbox/shipping/{transaction_id}/confirm
//                   (relayed to the emulator, which settles and pushes to the service).
//   showLoading / showToast (one slot), hideLoading / hideToast, showModal: DOM overlays.
//   navigateTo / redirectTo / reLaunch / navigateBack: the page stack of preview.js
//                   (window.mppayHost).
//   storage         localStorage, JSON, namespaced per appid (as WeChat keeps storage per app);
//                   a missing key reads ''.
//
// Test-only switch: ?tamper=paySign on the preview URL changes one character of paySign before
// the cashier sees it (the cashier must refuse it). A banner says so while it is on.
//
// Every call is recorded in window.__wxCalls ({api, at, detail}) for the tests.
;(function () {
  'use strict'

  var cfg = window.__MPPAY_PREVIEW__
  if (!cfg) throw new Error('wx-shim.js: load /preview/config.js first')

  var search = new URLSearchParams(window.location.search)
  var TAMPER = search.get('tamper') === 'paySign'
  var STORAGE_PREFIX = 'mp:' + cfg.appid + ':'
  var OPENID_KEY = 'mppay-preview:openid:' + cfg.appid
  var MAX_PAGES = 10

  var calls = []
  window.__wxCalls = calls

  function record(api, detail) {
    calls.push({ api: api, at: Date.now(), detail: detail === undefined ? null : detail })
  }

  function overlays() {
    return document.getElementById('wx-overlays') || document.body
  }

  // -- callbacks --------------------------------------------------------------------------

  // success/fail then complete, always asynchronously (as on the platform). Exceptions thrown
  // by the app's callbacks surface as errors instead of being swallowed.
  function settle(options, ok, result) {
    setTimeout(function () {
      var handler = ok ? options.success : options.fail
      if (typeof handler === 'function') handler(result)
      if (typeof options.complete === 'function') options.complete(result)
    }, 0)
  }

  // An API that returns a Promise when called without any callback (promise-capable APIs).
  function promiseCapable(name, impl) {
    return function (options) {
      options = options || {}
      var hasCallback = ['success', 'fail', 'complete'].some(function (k) {
        return typeof options[k] === 'function'
      })
      if (hasCallback) return impl(options, function (ok, result) { settle(options, ok, result) })
      return new Promise(function (resolve, reject) {
        impl(options, function (ok, result) {
          setTimeout(function () { (ok ? resolve : reject)(result) }, 0)
        })
      })
    }
  }

  // A callback-only API (request, login): no Promise is ever returned.
  function callbackOnly(impl) {
    return function (options) {
      options = options || {}
      return impl(options, function (ok, result) { settle(options, ok, result) })
    }
  }

  // -- request ----------------------------------------------------------------------------

  function rewriteUrl(url) {
    url = String(url || '')
    if (url.indexOf(cfg.apiBase + '/') === 0 || url === cfg.apiBase) {
      return window.location.origin + url.slice(cfg.apiBase.length)
    }
    return null
  }

  function queryString(data) {
    var parts = []
    Object.keys(data).forEach(function (key) {
      var value = data[key]
      if (value === undefined) return
      var text = typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)
      parts.push(encodeURIComponent(key) + '=' + encodeURIComponent(text))
    })
    return parts.join('&')
  }

  function headersObject(headers) {
    var out = {}
    headers.forEach(function (value, key) { out[key] = value })
    return out
  }

  var request = callbackOnly(function (options, done) {
    var method = String(options.method || 'GET').toUpperCase()
    var target = rewriteUrl(options.url)
    record('request', { method: method, url: options.url })
    var task = {
      abort: function () { if (controller) { aborted = true; controller.abort() } },
      onHeadersReceived: function () {},
      offHeadersReceived: function () {}
    }
    var controller = null
    var aborted = false
    if (target === null) {
      done(false, { errMsg: 'request:fail url not in domain list', errno: 600002 })
      return task
    }
    var header = {}
    var contentType = ''
    Object.keys(options.header || {}).forEach(function (key) {
      header[key] = String(options.header[key])
      if (key.toLowerCase() === 'content-type') contentType = header[key]
    })
    var body
    var data = options.data
    if (data !== undefined && data !== null) {
      if (method === 'GET') {
        var qs = typeof data === 'object' ? queryString(data) : String(data)
        if (qs) target += (target.indexOf('?') === -1 ? '?' : '&') + qs
      } else if (typeof data === 'object') {
        if (/x-www-form-urlencoded/i.test(contentType)) body = queryString(data)
        else {
          body = JSON.stringify(data)
          if (!contentType) header['content-type'] = 'application/json'
        }
      } else {
        body = String(data)
      }
    }
    controller = new AbortController()
    var timedOut = false
    var timer = setTimeout(function () { timedOut = true; controller.abort() }, options.timeout || 60000)
    fetch(target, { method: method, headers: header, body: body, signal: controller.signal, credentials: 'omit' })
      .then(function (res) {
        return res.text().then(function (text) {
          clearTimeout(timer)
          var parsed = text
          if ((options.dataType || 'json') === 'json' && text) {
            try { parsed = JSON.parse(text) } catch (e) { parsed = text }
          }
          done(true, {
            data: parsed,
            statusCode: res.status,
            header: headersObject(res.headers),
            cookies: [],
            errMsg: 'request:ok'
          })
        })
      })
      .catch(function (err) {
        clearTimeout(timer)
        var why = timedOut ? 'timeout' : aborted ? 'abort' : (err && err.message) || String(err)
        done(false, { errMsg: 'request:fail ' + why })
      })
    return task
  })

  // -- login ------------------------------------------------------------------------------

  function rememberedOpenid() {
    try { return window.localStorage.getItem(OPENID_KEY) || '' } catch (e) { return '' }
  }

  function sandboxLogin() {
    var body = { appid: cfg.appid }
    var openid = rememberedOpenid()
    if (openid) body.openid = openid
    return fetch(cfg.loginPath, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().then(function (answer) {
        if (!res.ok || !answer || typeof answer.code !== 'string') {
          throw new Error((answer && answer.message) || 'HTTP ' + res.status)
        }
        try { window.localStorage.setItem(OPENID_KEY, answer.openid) } catch (e) { /* private mode */ }
        window.dispatchEvent(new CustomEvent('mppay-preview-login', { detail: answer }))
        return answer
      })
    })
  }

  var login = callbackOnly(function (options, done) {
    record('login')
    sandboxLogin().then(
      function (answer) { done(true, { code: answer.code, errMsg: 'login:ok' }) },
      function (err) { done(false, { errMsg: 'login:fail ' + ((err && err.message) || err) }) }
    )
  })

  // -- requestPayment ---------------------------------------------------------------------

  function emulatorOrigin() {
    var url = new URL(cfg.emulatorUrl)
    // A service bound to all interfaces: reach the emulator on the host this page came from.
    if (url.hostname === '0.0.0.0' || url.hostname === '[::]') url.hostname = window.location.hostname
    return url.origin
  }

  function tamper(sign) {
    if (typeof sign !== 'string' || !sign) return 'tampered'
    var i = Math.floor(sign.length / 2)
    var c = sign.charAt(i) === 'A' ? 'B' : 'A'
    return sign.slice(0, i) + c + sign.slice(i + 1)
  }

  var cashierOpen = false

  var requestPayment = promiseCapable('requestPayment', function (options, done) {
    var params = {}
    ;['timeStamp', 'nonceStr', 'package', 'signType', 'paySign'].forEach(function (k) {
      if (k in options) params[k] = options[k]
    })
    record('requestPayment', { params: params, tampered: TAMPER })
    if (cashierOpen) {
      done(false, { errMsg: 'requestPayment:fail another payment is in progress' })
      return
    }
    if (TAMPER) params.paySign = tamper(params.paySign)
    cashierOpen = true
    var openid = rememberedOpenid()
    var ready = openid ? Promise.resolve(openid) : sandboxLogin().then(function (a) { return a.openid })
    ready.then(function (payer) {
      var sheet = Object.assign({}, params, { appId: cfg.appid, openid: payer })
      var layer = document.createElement('div')
      layer.className = 'wx-cashier-layer'
      var frame = document.createElement('iframe')
      frame.setAttribute('data-testid', 'wx-cashier')
      frame.setAttribute('title', 'WeChat Pay cashier (sandbox)')
      frame.src = emulatorOrigin() + cfg.cashierPath + '#' + encodeURIComponent(JSON.stringify(sheet))
      layer.appendChild(frame)
      overlays().appendChild(layer)
      function onMessage(event) {
        if (event.source !== frame.contentWindow) return
        var data = event.data
        if (!data || data.type !== 'wx-cashier-result' || typeof data.errMsg !== 'string') return
        window.removeEventListener('message', onMessage)
        record('requestPayment:result', { errMsg: data.errMsg })
        window.dispatchEvent(new CustomEvent('mppay-preview-payment', { detail: { errMsg: data.errMsg } }))
        // Let a person read the sheet's last word before it closes (WeChat shows a result too).
        setTimeout(function () {
          layer.remove()
          cashierOpen = false
          done(data.errMsg === 'requestPayment:ok', { errMsg: data.errMsg })
        }, /:ok$/.test(data.errMsg) ? 500 : 250)
      }
      window.addEventListener('message', onMessage)
    }, function (err) {
      cashierOpen = false
      done(false, { errMsg: 'requestPayment:fail ' + ((err && err.message) || err) })
    })
  })

  // -- openBusinessView (确认收货) -----------------------------------------------------------

  var openBusinessView = promiseCapable('openBusinessView', function (options, done) {
    var extra = options.extraData || {}
    record('openBusinessView', { businessType: options.businessType, extraData: extra })
    if (options.businessType !== 'weappOrderConfirm' || !extra.transaction_id) {
      done(false, { errMsg: 'openBusinessView:fail invalid businessType or extraData' })
      return
    }
    var url = cfg.confirmReceiptPath + '/' + encodeURIComponent(extra.transaction_id) + '/confirm'
    fetch(url, { method: 'POST', credentials: 'omit' }).then(function (res) {
      record('openBusinessView:result', { status: res.status })
      // WeChat's page opened either way; what happened is for the server to say.
      done(true, { errMsg: 'openBusinessView:ok', extraData: { status: res.ok ? 'success' : 'fail' } })
    }, function (err) {
      done(false, { errMsg: 'openBusinessView:fail ' + ((err && err.message) || err) })
    })
  })

  // -- loading / toast (one slot) and modal -----------------------------------------------

  var slot = { el: null, kind: '', timer: 0 }

  function clearSlot(kind) {
    if (!slot.el || (kind && slot.kind !== kind)) return false
    clearTimeout(slot.timer)
    slot.el.remove()
    slot.el = null
    slot.kind = ''
    return true
  }

  function fillSlot(kind, title, icon, mask) {
    clearSlot()
    var wrap = document.createElement('div')
    wrap.className = 'wx-slot' + (mask ? ' wx-mask' : '')
    var box = document.createElement('div')
    box.className = 'wx-' + kind + (icon === 'none' ? ' wx-text-only' : '')
    box.setAttribute('data-testid', 'wx-' + kind)
    box.setAttribute('role', kind === 'toast' ? 'status' : 'progressbar')
    if (icon !== 'none') {
      var mark = document.createElement('div')
      mark.className = 'wx-icon wx-icon-' + icon
      box.appendChild(mark)
    }
    var text = document.createElement('div')
    text.className = 'wx-slot-title'
    text.setAttribute('data-testid', 'wx-' + kind + '-title')
    text.textContent = title
    box.appendChild(text)
    wrap.appendChild(box)
    overlays().appendChild(wrap)
    slot.el = wrap
    slot.kind = kind
  }

  var showLoading = promiseCapable('showLoading', function (options, done) {
    record('showLoading', { title: options.title, mask: !!options.mask })
    fillSlot('loading', String(options.title || ''), 'loading', !!options.mask)
    done(true, { errMsg: 'showLoading:ok' })
  })

  var hideLoading = promiseCapable('hideLoading', function (options, done) {
    record('hideLoading')
    clearSlot('loading')
    done(true, { errMsg: 'hideLoading:ok' })
  })

  var showToast = promiseCapable('showToast', function (options, done) {
    var icon = options.icon || 'success'
    record('showToast', { title: options.title, icon: icon })
    fillSlot('toast', String(options.title || ''), icon, !!options.mask)
    var duration = typeof options.duration === 'number' ? options.duration : 1500
    var el = slot.el
    slot.timer = setTimeout(function () { if (slot.el === el) clearSlot('toast') }, duration)
    done(true, { errMsg: 'showToast:ok' })
  })

  var hideToast = promiseCapable('hideToast', function (options, done) {
    record('hideToast')
    clearSlot('toast')
    done(true, { errMsg: 'hideToast:ok' })
  })

  var showModal = promiseCapable('showModal', function (options, done) {
    record('showModal', { title: options.title, content: options.content })
    var wrap = document.createElement('div')
    wrap.className = 'wx-slot wx-mask wx-modal-layer'
    var box = document.createElement('div')
    box.className = 'wx-modal'
    box.setAttribute('data-testid', 'wx-modal')
    box.setAttribute('role', 'dialog')
    if (options.title) {
      var title = document.createElement('div')
      title.className = 'wx-modal-title'
      title.setAttribute('data-testid', 'wx-modal-title')
      title.textContent = String(options.title)
      box.appendChild(title)
    }
    var content = document.createElement('div')
    content.className = 'wx-modal-content'
    content.setAttribute('data-testid', 'wx-modal-content')
    content.textContent = String(options.content || '')
    box.appendChild(content)
    var buttons = document.createElement('div')
    buttons.className = 'wx-modal-buttons'
    function button(label, testid, color, result) {
      var b = document.createElement('button')
      b.type = 'button'
      b.textContent = label
      b.setAttribute('data-testid', testid)
      if (color) b.style.color = color
      b.addEventListener('click', function () {
        wrap.remove()
        done(true, { confirm: result, cancel: !result, errMsg: 'showModal:ok' })
      })
      buttons.appendChild(b)
    }
    if (options.showCancel !== false) button(options.cancelText || '取消', 'wx-modal-cancel', options.cancelColor, false)
    button(options.confirmText || '确定', 'wx-modal-confirm', options.confirmColor || '#576b95', true)
    box.appendChild(buttons)
    wrap.appendChild(box)
    overlays().appendChild(wrap)
  })

  // -- navigation -------------------------------------------------------------------------

  function navigation(kind) {
    return promiseCapable(kind, function (options, done) {
      record(kind, { url: options.url, delta: options.delta })
      var host = window.mppayHost
      if (!host) {
        done(false, { errMsg: kind + ':fail the preview host is not ready' })
        return
      }
      host.navigate(kind, options).then(
        function () { done(true, { errMsg: kind + ':ok' }) },
        function (err) { done(false, { errMsg: kind + ':fail ' + ((err && err.message) || err) }) }
      )
    })
  }

  var stopPullDownRefresh = promiseCapable('stopPullDownRefresh', function (options, done) {
    record('stopPullDownRefresh')
    if (window.mppayHost) window.mppayHost.stopPullDownRefresh()
    done(true, { errMsg: 'stopPullDownRefresh:ok' })
  })

  // -- storage ----------------------------------------------------------------------------

  function storageKey(key) {
    if (typeof key !== 'string' || !key) throw new Error('parameter.key should be a non-empty String')
    return STORAGE_PREFIX + key
  }

  function getStorageSync(key) {
    var raw = window.localStorage.getItem(storageKey(key))
    if (raw === null) return ''
    try { return JSON.parse(raw) } catch (e) { return '' }
  }

  function setStorageSync(key, value) {
    window.localStorage.setItem(storageKey(key), JSON.stringify(value === undefined ? null : value))
  }

  function removeStorageSync(key) {
    window.localStorage.removeItem(storageKey(key))
  }

  function clearStorageSync() {
    Object.keys(window.localStorage).forEach(function (k) {
      if (k.indexOf(STORAGE_PREFIX) === 0) window.localStorage.removeItem(k)
    })
  }

  function getSystemInfoSync() {
    return {
      platform: 'devtools', brand: 'mppay', model: 'browser preview', pixelRatio: 2,
      windowWidth: 375, windowHeight: 667, screenWidth: 375, screenHeight: 812,
      language: 'zh_CN', version: '8.0.50', SDKVersion: '3.4.0'
    }
  }

  window.__wxShim = window.wx = {
    request: request,
    login: login,
    requestPayment: requestPayment,
    openBusinessView: openBusinessView,
    showLoading: showLoading,
    hideLoading: hideLoading,
    showToast: showToast,
    hideToast: hideToast,
    showModal: showModal,
    navigateTo: navigation('navigateTo'),
    redirectTo: navigation('redirectTo'),
    reLaunch: navigation('reLaunch'),
    navigateBack: navigation('navigateBack'),
    stopPullDownRefresh: stopPullDownRefresh,
    getStorageSync: getStorageSync,
    setStorageSync: setStorageSync,
    removeStorageSync: removeStorageSync,
    clearStorageSync: clearStorageSync,
    getSystemInfoSync: getSystemInfoSync
  }

  window.mppayShim = {
    config: cfg,
    tamper: TAMPER,
    maxPages: MAX_PAGES,
    openid: rememberedOpenid,
    resetUser: function () {
      clearStorageSync()
      try { window.localStorage.removeItem(OPENID_KEY) } catch (e) { /* nothing stored */ }
    }
  }
})()
