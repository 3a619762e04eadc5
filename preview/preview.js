// The page host of the browser preview: a WeChat-like page stack over harness/boot.js.
// Loaded last, after the wx shim, the file map, miniprogram-simulate's build.js and boot.js.
//
// window.mppayHost:
//   navigate(kind, options) -> Promise   navigateTo | redirectTo | reLaunch | navigateBack,
//                                         with WeChat's rules: the url must be a page of
//                                         app.json, at most 10 pages on the stack.
//   current() -> {route, query, page}     the page on top
//   stopPullDownRefresh()
// The body carries data-route (the route on top) and data-ready="1" once the first page's
// onLoad settled. Uncaught errors and console.error calls are kept in window.__previewErrors
// (exparser only console.errors what a handler throws, research P5).
;(function () {
  'use strict'

  var cfg = window.__MPPAY_PREVIEW__
  var files = window.__FILE_MAP__ || {}
  var errors = []
  window.__previewErrors = errors

  var originalConsoleError = console.error
  console.error = function () {
    errors.push(Array.prototype.map.call(arguments, function (a) {
      return a && a.stack ? String(a.stack) : String(a)
    }).join(' '))
    return originalConsoleError.apply(console, arguments)
  }
  window.addEventListener('error', function (e) { errors.push(String(e.message || e)) })
  window.addEventListener('unhandledrejection', function (e) {
    errors.push('unhandled rejection: ' + String(e.reason && (e.reason.stack || e.reason.errMsg) || e.reason))
  })

  function readJson(path) {
    try { return JSON.parse(files[path] || '{}') } catch (e) { return {} }
  }

  var appJson = readJson('app.json')
  var pagesList = (appJson.pages || []).slice()
  var windowJson = appJson.window || {}

  var viewport = document.getElementById('mp-viewport')
  var backButton = document.querySelector('[data-testid="nav-back"]')
  var refreshButton = document.querySelector('[data-testid="nav-refresh"]')
  var titleEl = document.querySelector('[data-testid="nav-title"]')

  // -- app.wxss ---------------------------------------------------------------------------
  // simulate only injects each page's own WXSS, with classes prefixed by the page's tag name.
  // WeChat applies app.wxss to every page: add it with the same prefixing ('page' is the
  // page's root), under the page's own rules.
  function appStyles(prefix) {
    var source = files['app.wxss'] || ''
    return source
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/(^|[^\w-])\.([A-Za-z_][\w-]*)/g, function (all, before, name) { return before + '.' + prefix + '--' + name })
      .replace(/(^|[},\s])page(?=[\s,{.:])/g, '$1.mp-page')
      .replace(/(\d*\.?\d+)rpx/g, '$1px')
  }
  var appStyleEl = document.createElement('style')
  appStyleEl.id = 'mp-app-wxss'
  appStyleEl.textContent = appStyles('main')
  document.head.insertBefore(appStyleEl, document.head.firstChild)

  // -- page stack -------------------------------------------------------------------------

  var stack = []
  var busy = Promise.resolve()
  var bootPages = window.getCurrentPages
  // WeChat's getCurrentPages: the instances on the stack, bottom first.
  window.getCurrentPages = function () {
    return stack.map(function (entry) { return entry.instance }).filter(Boolean)
  }

  function parse(url) {
    var parsed = window.mppayParseUrl(url)
    if (pagesList.indexOf(parsed.route) === -1) {
      throw new Error('page "' + parsed.route + '" is not found')
    }
    return parsed
  }

  function pageJson(route) {
    return readJson(route + '.json')
  }

  function updateChrome() {
    var top = stack[stack.length - 1]
    var json = top ? pageJson(top.route) : {}
    titleEl.textContent = json.navigationBarTitleText || windowJson.navigationBarTitleText || ''
    backButton.hidden = stack.length < 2
    refreshButton.hidden = !(top && (json.enablePullDownRefresh || windowJson.enablePullDownRefresh))
    document.body.setAttribute('data-route', top ? top.route : '')
    document.body.setAttribute('data-stack', String(stack.length))
  }

  function call(entry, hook, arg) {
    var fn = entry.instance && entry.instance[hook]
    if (typeof fn !== 'function') return undefined
    try {
      return fn.call(entry.instance, arg)
    } catch (err) {
      console.error(hook + ' of ' + entry.route + ' threw', err)
      return undefined
    }
  }

  function open(route, query) {
    var el = document.createElement('div')
    el.className = 'mp-page'
    el.setAttribute('data-route', route)
    viewport.appendChild(el)
    var entry = { route: route, query: query, el: el, page: null, instance: null }
    stack.push(entry)
    var booted
    try {
      booted = window.mppayBoot(route, query, el)
    } catch (err) {
      stack.pop()
      el.remove()
      return Promise.reject(err)
    }
    // mppayBoot rendered the page and called onLoad and onShow before returning; its promise
    // waits for onLoad's work. boot.js's page list ends with the new page's instance.
    entry.instance = bootPages().slice(-1)[0] || null
    updateChrome()
    viewport.scrollTop = 0
    return booted.then(function (page) {
      entry.page = page
      return entry
    })
  }

  function hide(entry) {
    call(entry, 'onHide')
    entry.el.hidden = true
  }

  function unload(entry) {
    call(entry, 'onUnload')
    if (entry.page) {
      try { entry.page.detach() } catch (e) { /* already gone */ }
    }
    entry.el.remove()
  }

  function reveal(entry) {
    entry.el.hidden = false
    updateChrome()
    call(entry, 'onShow')
  }

  function navigate(kind, options) {
    var run = function () {
      if (kind === 'navigateBack') {
        var delta = Math.max(1, Number(options && options.delta) || 1)
        if (stack.length < 2) return Promise.reject(new Error('cannot navigate back at first page.'))
        while (delta-- > 0 && stack.length > 1) unload(stack.pop())
        reveal(stack[stack.length - 1])
        return Promise.resolve()
      }
      var target = parse(options && options.url)
      if (kind === 'navigateTo') {
        if (stack.length >= window.mppayShim.maxPages) return Promise.reject(new Error('webview count limit exceed'))
        if (stack.length) hide(stack[stack.length - 1])
      } else if (kind === 'redirectTo') {
        if (stack.length) unload(stack.pop())
      } else if (kind === 'reLaunch') {
        while (stack.length) unload(stack.pop())
      } else {
        return Promise.reject(new Error('unknown navigation ' + kind))
      }
      // The new page loads in the background of the navigation's success, as in WeChat.
      open(target.route, target.query).catch(function (err) { console.error('page failed to load', err) })
      return Promise.resolve()
    }
    var result = busy.then(run)
    busy = result.catch(function () {})
    return result
  }

  backButton.addEventListener('click', function () {
    navigate('navigateBack', { delta: 1 }).catch(function (err) { console.error(err) })
  })

  refreshButton.addEventListener('click', function () {
    var top = stack[stack.length - 1]
    if (!top || !top.instance) return
    refreshButton.classList.add('spinning')
    var result = call(top, 'onPullDownRefresh')
    Promise.resolve(result).then(function () { refreshButton.classList.remove('spinning') })
  })

  window.mppayHost = {
    navigate: navigate,
    current: function () {
      var top = stack[stack.length - 1]
      return top ? { route: top.route, query: top.query, page: top.page } : null
    },
    stopPullDownRefresh: function () { refreshButton.classList.remove('spinning') }
  }

  // -- side panel -------------------------------------------------------------------------

  function setText(testid, text) {
    var el = document.querySelector('[data-testid="' + testid + '"]')
    if (el) el.textContent = text
  }

  function setLink(testid, href) {
    var el = document.querySelector('[data-testid="' + testid + '"]')
    if (el) el.href = href
  }

  setText('side-appid', cfg.appid)
  setText('side-api', cfg.apiVersion)
  setText('side-openid', window.mppayShim.openid() || '(not logged in yet)')
  setLink('link-deliveries', cfg.deliveryLogUrl)
  setLink('link-faults', cfg.faultsUrl)
  setLink('link-docs', cfg.docsPath)
  window.addEventListener('mppay-preview-login', function (e) { setText('side-openid', e.detail.openid) })

  if (window.mppayShim.tamper) {
    var banner = document.querySelector('[data-testid="tamper-banner"]')
    if (banner) banner.hidden = false
  }

  var resetButton = document.querySelector('[data-testid="reset-user"]')
  if (resetButton) {
    resetButton.addEventListener('click', function () {
      window.mppayShim.resetUser()
      window.location.reload()
    })
  }

  var deliveriesEl = document.querySelector('[data-testid="deliveries"]')
  function showDeliveries(items) {
    if (!deliveriesEl) return
    deliveriesEl.textContent = ''
    if (!items.length) {
      var none = document.createElement('li')
      none.className = 'muted'
      none.textContent = 'No notification sent yet.'
      deliveriesEl.appendChild(none)
      return
    }
    items.slice(-8).reverse().forEach(function (a) {
      var li = document.createElement('li')
      li.className = 'delivery outcome-' + a.outcome
      li.setAttribute('data-testid', 'delivery')
      li.setAttribute('data-outcome', a.outcome)
      var time = (a.time || '').replace(/^.*T/, '').replace(/\+.*$/, '')
      var what = a.event_type + ' · ' + (a.out_refund_no || a.out_trade_no)
      var result = a.outcome + (a.status_code ? ' (HTTP ' + a.status_code + ')' : '')
      li.textContent = time + '  ' + what + ' → ' + result
      deliveriesEl.appendChild(li)
    })
  }
  var lastDeliveries = ''
  function loadDeliveries() {
    return fetch(cfg.deliveriesPath, { cache: 'no-store' })
      .then(function (r) { return r.ok ? r.json() : null })
      .then(function (answer) {
        if (!answer) return
        var text = JSON.stringify(answer.data)
        if (text !== lastDeliveries) { lastDeliveries = text; showDeliveries(answer.data || []) }
      })
      .catch(function () {})
  }
  function pollDeliveries() {
    loadDeliveries().then(function () { setTimeout(pollDeliveries, 2000) })
  }
  pollDeliveries()
  // WeChat Pay notifies within a moment of a payment: look again soon after the cashier closes.
  window.addEventListener('mppay-preview-payment', function () {
    setTimeout(loadDeliveries, 300)
    setTimeout(loadDeliveries, 1000)
  })

  // -- start ------------------------------------------------------------------------------

  var first = pagesList[0]
  if (!first) {
    console.error('app.json lists no pages')
    return
  }
  updateChrome()
  open(first, {}).then(
    function () { document.body.setAttribute('data-ready', '1') },
    function (err) { console.error('the first page failed to load', err) }
  )
})()
