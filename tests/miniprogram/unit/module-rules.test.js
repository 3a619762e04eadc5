'use strict'
// Static rules on miniprogram/ that keep the same files loadable by WeChat, by Node and by the
// browser harness (miniprogram-simulate's loader runs each file as
// new Function('require', 'module', source): research §1.2 and P7), and keep secrets out.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('fs')
const path = require('path')
const { MP_ROOT, loadPage } = require('../support/mp')
const { createFakeWx } = require('../support/fake-wx')

function walk(dir, ext, out = []) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) walk(full, ext, out)
    else if (entry.name.endsWith(ext)) out.push(full)
  }
  return out
}

const JS_FILES = walk(MP_ROOT, '.js')
const rel = (file) => path.relative(MP_ROOT, file)

function stripComments(source) {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"\\])\/\/.*$/gm, '$1')
}

function requires(source) {
  return [...stripComments(source).matchAll(/\brequire\(\s*(['"])([^'"]+)\1\s*\)/g)].map((m) => m[2])
}

test('every Mini Program file is CommonJS with module.exports only', () => {
  assert.ok(JS_FILES.length >= 15)
  for (const file of JS_FILES) {
    const code = stripComments(fs.readFileSync(file, 'utf8'))
    assert.doesNotMatch(code, /^\s*(import|export)\s/m, `${rel(file)}: ES module syntax`)
    assert.doesNotMatch(code, /(^|[^.\w$])exports\s*(\.|\[|=)/m, `${rel(file)}: the bare exports alias`)
    assert.doesNotMatch(code, /\b__dirname\b|\b__filename\b|\bprocess\./, `${rel(file)}: Node-only globals`)
  }
})

test('require paths are relative, without .js, and resolve inside miniprogram/', () => {
  for (const file of JS_FILES) {
    for (const spec of requires(fs.readFileSync(file, 'utf8'))) {
      assert.match(spec, /^\.\.?\//, `${rel(file)}: require('${spec}') is not relative (no npm packages in the client)`)
      assert.doesNotMatch(spec, /\.js$/, `${rel(file)}: require('${spec}') has a .js suffix`)
      const target = path.resolve(path.dirname(file), spec) + '.js'
      assert.ok(target.startsWith(MP_ROOT + path.sep), `${rel(file)}: require('${spec}') leaves miniprogram/`)
      assert.ok(fs.existsSync(target), `${rel(file)}: require('${spec}') does not exist`)
    }
  }
})

test('every required module assigns module.exports', () => {
  const required = new Set()
  for (const file of JS_FILES) {
    for (const spec of requires(fs.readFileSync(file, 'utf8'))) required.add(path.resolve(path.dirname(file), spec) + '.js')
  }
  for (const file of required) {
    assert.match(fs.readFileSync(file, 'utf8'), /^module\.exports = \{/m, `${rel(file)}: no module.exports = {...}`)
  }
})

test('the API origin appears in config.js only', () => {
  for (const file of JS_FILES) {
    if (rel(file) === 'config.js') continue
    assert.doesNotMatch(stripComments(fs.readFileSync(file, 'utf8')), /https?:\/\//, `${rel(file)}: a URL outside config.js`)
  }
  assert.match(fs.readFileSync(path.join(MP_ROOT, 'config.js'), 'utf8'), /apiBase: 'https:\/\/api\.example\.com'/)
})

test('no keys, secrets or signing in the client', () => {
  for (const file of walk(MP_ROOT, '')) {
    if (fs.statSync(file).isDirectory()) continue
    const text = fs.readFileSync(file, 'utf8')
    const code = file.endsWith('.js') ? stripComments(text) : text
    assert.doesNotMatch(code, /-----BEGIN|PRIVATE KEY/, `${rel(file)}: key material`)
    assert.doesNotMatch(code, /app_?secret|api_?v[23]_?key|mch_?key|private_?key|session_?key/i, `${rel(file)}: secret-like name`)
    assert.doesNotMatch(code, /sha256|md5|hmac|crypto\./i, `${rel(file)}: signing code`)
  }
})

test('every page listed in app.json exists and defines the handlers its WXML binds', () => {
  const app = JSON.parse(fs.readFileSync(path.join(MP_ROOT, 'app.json'), 'utf8'))
  assert.equal(app.pages[0], 'pages/products/index', 'the product list is the home page')
  for (const route of app.pages) {
    const wxml = fs.readFileSync(path.join(MP_ROOT, route + '.wxml'), 'utf8')
    const page = loadPage(route, { wx: createFakeWx().wx })
    const handlers = [...wxml.matchAll(/\b(?:bind|catch|capture-bind|capture-catch|mut-bind):?[a-z]+="([^"]+)"/g)].map((m) => m[1])
    assert.ok(handlers.length > 0, `${route}: no handlers bound`)
    for (const name of handlers) {
      assert.equal(typeof page.definition[name], 'function', `${route}.wxml binds "${name}", which the page does not define`)
    }
  }
})
