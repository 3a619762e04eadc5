'use strict'
// miniprogram-simulate only knows Component(): this turns a Page({...}) definition into a
// Component so the real page files render unchanged (research P2, §8). The browser harness's
// boot script installs the same shim.
//
// Functions become methods (lifecycles such as onLoad are NOT called by simulate: call
// page.instance.onLoad(query) yourself); other non-data fields (e.g. `_paying: false`) are
// copied onto each instance at creation, as the real Page does.

function installPageShim(target = globalThis) {
  target.Page = function Page(def) {
    const methods = {}
    const extra = {}
    for (const [key, value] of Object.entries(def)) {
      if (key === 'data') continue
      if (typeof value === 'function') methods[key] = value
      else extra[key] = value
    }
    target.Component({
      data: def.data || {},
      methods,
      lifetimes: {
        created() {
          Object.assign(this, JSON.parse(JSON.stringify(extra)))
        },
      },
    })
  }
}

module.exports = { installPageShim }
