// The app holds no state of its own: the session token lives in storage (services/auth),
// and every page reads the truth from the server. Nothing secret is ever shipped here.
App({
  globalData: {}
})
