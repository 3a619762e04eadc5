'use strict'
// Node helper: every file under miniprogram/ as {relativePath: text}, the shape
// miniprogram-simulate's browser loader reads from window.__FILE_MAP__.

const fs = require('fs')
const path = require('path')

const MP_ROOT = path.resolve(__dirname, '../../../miniprogram')

function buildFileMap(root = MP_ROOT) {
  const map = {}
  ;(function walk(dir) {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) walk(full)
      else map[path.relative(root, full).split(path.sep).join('/')] = fs.readFileSync(full, 'utf8')
    }
  })(root)
  return map
}

/** The same map as a script: `window.__FILE_MAP__ = {...}`. */
function fileMapScript(root = MP_ROOT) {
  return 'window.__FILE_MAP__ = ' + JSON.stringify(buildFileMap(root)) + ';\n'
}

module.exports = { buildFileMap, fileMapScript, MP_ROOT }
