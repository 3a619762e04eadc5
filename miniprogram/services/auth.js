// Login: wx.login -> POST /api/login {code} -> {token, expires_at}; the token is kept in storage.
//
// - Logs in once: a stored, unexpired token is reused; concurrent callers share one login.
// - The client never sees the AppSecret or session_key: only the service's opaque token.
// - renewToken(stale) is what utils/request calls after a 401: if another caller already
//   replaced the stale token it is reused, otherwise one fresh login is made.

const format = require('../utils/format')
const http = require('../utils/http')
const wxp = require('../utils/wx-promise')

const STORAGE_KEY = 'mppay_session'
// Log in again slightly before the server-side expiry.
const EXPIRY_MARGIN_MS = 60 * 1000

/** @type {Promise<string> | null} the login in progress, shared by every caller */
let inflight = null

/**
 * expires_at as sent by the service: an ISO 8601 string, or a unix time in seconds or ms.
 * @param {any} value
 * @returns {number | null} epoch ms, or null if unknown (then only a 401 ends the session)
 */
function expiryMs(value) {
  if (typeof value === 'number' && isFinite(value)) return value < 1e11 ? value * 1000 : value
  return format.parseIso(value)
}

/** @returns {{token: string, expires_at?: any} | null} */
function readSession() {
  let stored
  try {
    stored = wx.getStorageSync(STORAGE_KEY)
  } catch (err) {
    return null
  }
  if (!stored || typeof stored !== 'object' || typeof stored.token !== 'string' || !stored.token) return null
  return stored
}

/** @param {{token: string, expires_at?: any}} session */
function isUsable(session) {
  const expiry = expiryMs(session.expires_at)
  return expiry === null || expiry - EXPIRY_MARGIN_MS > Date.now()
}

function clearSession() {
  try {
    wx.removeStorageSync(STORAGE_KEY)
  } catch (err) {
    // nothing stored or storage unavailable: either way there is no session to clear
  }
}

/** @returns {Promise<string>} */
async function doLogin() {
  let code
  try {
    const res = await wxp.call('login', {})
    code = res && res.code
  } catch (err) {
    throw new http.ApiError({
      code: 'WX_LOGIN_FAILED',
      message: 'WeChat login failed, please try again',
      errMsg: /** @type {any} */ (err).errMsg
    })
  }
  if (typeof code !== 'string' || !code) {
    throw new http.ApiError({ code: 'WX_LOGIN_FAILED', message: 'WeChat login returned no code' })
  }
  const data = await http.send({ method: 'POST', path: '/api/login', data: { code: code } })
  if (!data || typeof data.token !== 'string' || !data.token) {
    throw new http.ApiError({ status: 200, code: 'BAD_RESPONSE', message: 'The server sent no session token', data: data })
  }
  try {
    wx.setStorageSync(STORAGE_KEY, { token: data.token, expires_at: data.expires_at })
  } catch (err) {
    // storage full or unavailable: the token still works for this call
  }
  return data.token
}

/**
 * Logs in now (joining a login already in progress).
 * @returns {Promise<string>} the new token
 */
function login() {
  if (!inflight) {
    inflight = doLogin().then(
      function (token) { inflight = null; return token },
      function (err) { inflight = null; throw err }
    )
  }
  return inflight
}

/**
 * The token to send: the stored one if still usable, else the result of one (shared) login.
 * @returns {Promise<string>}
 */
function getToken() {
  if (inflight) return inflight
  const session = readSession()
  if (session && isUsable(session)) return Promise.resolve(session.token)
  return login()
}

/**
 * Called after the service answered 401 to `staleToken`.
 * @param {string} staleToken
 * @returns {Promise<string>} a different token (from a concurrent re-login or a new one)
 */
function renewToken(staleToken) {
  if (inflight) return inflight
  const session = readSession()
  if (session && session.token !== staleToken && isUsable(session)) return Promise.resolve(session.token)
  clearSession()
  return login()
}

function logout() {
  clearSession()
}

module.exports = {
  STORAGE_KEY: STORAGE_KEY,
  getToken: getToken,
  login: login,
  renewToken: renewToken,
  logout: logout,
  expiryMs: expiryMs
}
