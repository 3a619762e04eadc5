#!/usr/bin/env node
// Offline check of the Mini Program's templates and styles, no WeChat DevTools needed.
//
//   node tools/check-wxml.js [miniprogramRoot] [--compiler=official|simulate]
//
// 1. app.json / sitemap.json / every page's .json parse, and every page listed in app.json has
//    its .js, .json and .wxml files.
// 2. WXML and WXSS are compiled with the OFFICIAL compilers (wcc / wcsc) shipped in the npm
//    package miniprogram-compiler. They are Linux/macOS/Windows x86-64 binaries (research P9):
//    on any other CPU (e.g. arm64) the check falls back to a structural check built on
//    miniprogram-simulate's own WXML parser (j-component) -- balanced tags and mustaches,
//    balanced WXSS braces -- which is weaker, and says so.
//
// Exits 1 with file:line:col on the first broken file.

'use strict'

const fs = require('fs')
const path = require('path')

function fail(message) {
  console.error('check-wxml: FAILED\n' + message)
  process.exit(1)
}

function parseArgs(argv) {
  let root = 'miniprogram'
  let compiler = process.env.MPPAY_WXML_COMPILER || ''
  for (const arg of argv) {
    if (arg.startsWith('--compiler=')) compiler = arg.slice('--compiler='.length)
    else root = arg
  }
  if (!compiler) {
    const officialHost = process.arch === 'x64' && ['linux', 'darwin', 'win32'].includes(process.platform)
    compiler = officialHost ? 'official' : 'simulate'
    if (!officialHost) {
      console.log(`check-wxml: note: the official wcc/wcsc binaries are x86-64 only; on ${process.platform}/${process.arch} ` +
        'falling back to a structural check with miniprogram-simulate\'s WXML parser (weaker than wcc).')
    }
  }
  if (!['official', 'simulate'].includes(compiler)) fail(`unknown --compiler=${compiler} (official | simulate)`)
  return { root: path.resolve(root), compiler }
}

function listFiles(dir, ext, base = dir, out = []) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'miniprogram_npm') listFiles(full, ext, base, out)
    } else if (entry.name.endsWith(ext)) {
      out.push(path.relative(base, full).split(path.sep).join('/'))
    }
  }
  return out.sort()
}

function readJson(root, rel) {
  const file = path.join(root, rel)
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch (err) {
    fail(`${rel}: ${err.code === 'ENOENT' ? 'missing' : 'invalid JSON: ' + err.message}`)
  }
}

function checkStructure(root) {
  const app = readJson(root, 'app.json')
  if (!Array.isArray(app.pages) || app.pages.length === 0) fail('app.json: "pages" must list at least one page')
  if (app.sitemapLocation) readJson(root, app.sitemapLocation)
  for (const page of app.pages) {
    for (const ext of ['.js', '.json', '.wxml']) {
      if (!fs.existsSync(path.join(root, page + ext))) fail(`app.json lists "${page}" but ${page}${ext} is missing`)
    }
    readJson(root, page + '.json')
  }
  for (const rel of listFiles(root, '.json')) readJson(root, rel)
  return app.pages.length
}

function checkOfficial(root, wxmlFiles, wxssFiles) {
  const { wxmlToJs } = require('miniprogram-compiler')
  // wxssToJs() swallows wcsc's error (it returns instead of throwing): call wcsc directly.
  const wcsc = require('miniprogram-compiler/src/wcsc')
  let source
  try {
    source = wxmlToJs(root)
  } catch (err) {
    fail(String(err.message || err).replace(/^编译 \.wxml 文件错误：/, 'WXML: '))
  }
  try {
    // eslint-disable-next-line no-new-func
    new Function(source)
  } catch (err) {
    fail('wcc produced JavaScript that does not parse: ' + err.message)
  }
  // One wcsc run per file so an error names the file even when wcsc's message does not.
  for (const rel of wxssFiles) {
    const result = wcsc(root, [rel.replace(/\.wxss$/, '')])
    if (result instanceof Error) fail(`${rel}: ` + String(result.message).replace(/^编译 \.wxss 文件错误：/, 'WXSS: ').trim())
  }
  return `official wcc/wcsc from miniprogram-compiler@${require('miniprogram-compiler/package.json').version}`
}

function lineCol(text, index) {
  const before = text.slice(0, index).split('\n')
  return `${before.length}:${before[before.length - 1].length + 1}`
}

// The tag grammar of miniprogram-simulate's own WXML parser (j-component/src/template/parse.js),
// used strictly: that parser silently closes what is left open, this check does not.
const START_TAG = /^<([-A-Za-z0-9_]+)((?:\s+[\w\-:]+(?:\s*=\s*(?:(?:"[^"]*")|(?:'[^']*')|[^>\s]+))?)*)\s*(\/?)>/
const END_TAG = /^<\/([-A-Za-z0-9_]+)[^>]*>/

function checkWxmlStructure(rel, text) {
  const stack = []
  let i = 0
  const where = () => `${rel}:${lineCol(text, i)}`
  while (i < text.length) {
    const rest = text.slice(i)
    if (rest.startsWith('<!--')) {
      const close = rest.indexOf('-->')
      if (close < 0) fail(`${where()}: unclosed comment`)
      i += close + 3
    } else if (rest.startsWith('</')) {
      const m = rest.match(END_TAG)
      if (!m) fail(`${where()}: malformed end tag`)
      const top = stack.pop()
      if (!top) fail(`${where()}: end-tag \`${m[1]}\` without a start tag`)
      if (top.tag !== m[1]) fail(`${where()}: expect end-tag \`${top.tag}\`, near \`${m[1]}\``)
      i += m[0].length
    } else if (rest.startsWith('<')) {
      const m = rest.match(START_TAG)
      if (!m) fail(`${where()}: malformed start tag`)
      const mustacheOpen = (m[2].match(/{{/g) || []).length
      if (mustacheOpen !== (m[2].match(/}}/g) || []).length) fail(`${where()}: unbalanced {{ }} in attributes`)
      if (!m[3]) stack.push({ tag: m[1], at: i })
      i += m[0].length
      if (m[1] === 'wxs' && !m[3]) {
        const close = text.indexOf('</wxs>', i)
        if (close < 0) fail(`${where()}: unclosed <wxs>`)
        i = close
      }
    } else {
      const next = text.indexOf('<', i)
      const chunk = next < 0 ? text.slice(i) : text.slice(i, next)
      if ((chunk.match(/{{/g) || []).length !== (chunk.match(/}}/g) || []).length) fail(`${where()}: unbalanced {{ }}`)
      i = next < 0 ? text.length : next
    }
  }
  if (stack.length) {
    const top = stack[stack.length - 1]
    i = top.at
    fail(`${where()}: \`${top.tag}\` is never closed`)
  }
}

function checkSimulate(root, wxmlFiles, wxssFiles) {
  for (const rel of wxmlFiles) checkWxmlStructure(rel, fs.readFileSync(path.join(root, rel), 'utf8'))
  for (const rel of wxssFiles) {
    const text = fs.readFileSync(path.join(root, rel), 'utf8').replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' '))
    let depth = 0
    for (let i = 0; i < text.length; i++) {
      if (text[i] === '{') depth++
      if (text[i] === '}' && --depth < 0) fail(`${rel}:${lineCol(text, i)}: unexpected }`)
    }
    if (depth !== 0) fail(`${rel}: unclosed {`)
  }
  return 'structural check with miniprogram-simulate\'s WXML tag grammar (fallback)'
}

function main() {
  const { root, compiler } = parseArgs(process.argv.slice(2))
  if (!fs.existsSync(path.join(root, 'app.json'))) fail(`${root}: no app.json (pass the miniprogramRoot)`)
  const pages = checkStructure(root)
  const wxmlFiles = listFiles(root, '.wxml')
  const wxssFiles = listFiles(root, '.wxss')
  const how = compiler === 'official'
    ? checkOfficial(root, wxmlFiles, wxssFiles)
    : checkSimulate(root, wxmlFiles, wxssFiles)
  console.log(`check-wxml: ${pages} pages, ${wxmlFiles.length} WXML and ${wxssFiles.length} WXSS files OK (${how})`)
}

main()
