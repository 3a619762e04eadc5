'use strict'
// Loads the real miniprogram/ files in plain Node, each test with a FRESH module graph (so no
// in-flight login or loading flag leaks between tests), a fake global `wx`, and optional
// config overrides (e.g. zero polling delays).

const path = require('path')

const MP_ROOT = path.resolve(__dirname, '../../../miniprogram')

function freshModules() {
  for (const key of Object.keys(require.cache)) {
    if (key.startsWith(MP_ROOT + path.sep)) delete require.cache[key]
  }
}

/**
 * Installs the globals a Mini Program file expects and applies config overrides.
 * @param {{wx: object, config?: object, app?: object}} env
 */
function installEnv(env) {
  freshModules()
  globalThis.wx = env.wx
  const app = env.app || { globalData: {} }
  globalThis.getApp = () => app
  globalThis.getCurrentPages = () => []
  globalThis.App = () => {}
  const config = require(path.join(MP_ROOT, 'config'))
  const overrides = env.config || {}
  for (const key of Object.keys(overrides)) {
    if (overrides[key] && typeof overrides[key] === 'object' && !Array.isArray(overrides[key])) {
      config[key] = { ...config[key], ...overrides[key] }
    } else {
      config[key] = overrides[key]
    }
  }
  return config
}

/** require() a module of the Mini Program, e.g. loadModule('services/checkout', env). */
function loadModule(rel, env) {
  installEnv(env)
  return require(path.join(MP_ROOT, rel))
}

/** Like loadModule, but for several modules sharing one fresh graph. */
function loadModules(rels, env) {
  installEnv(env)
  return rels.map((rel) => require(path.join(MP_ROOT, rel)))
}

function setPath(target, keyPath, value) {
  const parts = keyPath.replace(/\[(\d+)\]/g, '.$1').split('.')
  let node = target
  for (let i = 0; i < parts.length - 1; i++) {
    if (node[parts[i]] === undefined || node[parts[i]] === null) node[parts[i]] = {}
    node = node[parts[i]]
  }
  node[parts[parts.length - 1]] = value
}

/**
 * Loads a page (its Page({...}) definition captured by a stub) and returns a minimal instance:
 * methods bound to it, `data`, a setData that JSON-clones like the real one (path keys work),
 * and `setDataCalls` for assertions.
 */
function loadPage(route, env) {
  installEnv(env)
  let definition = null
  globalThis.Page = (def) => { definition = def }
  require(path.join(MP_ROOT, route))
  if (!definition) throw new Error(`${route} did not call Page()`)
  const page = { route, setDataCalls: [], definition }
  for (const [key, value] of Object.entries(definition)) {
    if (key === 'data') continue
    page[key] = typeof value === 'function' ? value.bind(page) : JSON.parse(JSON.stringify(value === undefined ? null : value))
  }
  page.data = JSON.parse(JSON.stringify(definition.data || {}))
  page.setData = (patch, callback) => {
    const clean = JSON.parse(JSON.stringify(patch))
    page.setDataCalls.push(clean)
    for (const [key, value] of Object.entries(clean)) setPath(page.data, key, value)
    if (callback) setTimeout(callback, 0)
  }
  return page
}

module.exports = { MP_ROOT, loadModule, loadModules, loadPage, installEnv, freshModules }
