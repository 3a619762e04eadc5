// The one request function every service uses.
//
// - adds `Authorization: Bearer <token>` (logging in first if needed, see services/auth);
//   `auth: false` is for the public endpoints (GET /api/products): no login, no token
// - 2xx -> the response body; anything else -> ApiError (statusCode is checked in utils/http,
//   because wx.request reports 4xx/5xx through `success`)
// - on 401: logs in again ONCE and retries ONCE with the same method, body and headers (so an
//   Idempotency-Key stays the same); a second 401 is thrown to the caller, never looped on.

const http = require('./http')
const auth = require('../services/auth')

/**
 * @param {{method?: 'GET' | 'POST', path: string, query?: Record<string, any>,
 *          data?: object, header?: Record<string, string>}} opts
 * @param {string} token
 */
function sendWithToken(opts, token) {
  return http.send({
    method: opts.method,
    path: opts.path,
    query: opts.query,
    data: opts.data,
    header: Object.assign({}, opts.header, { Authorization: 'Bearer ' + token })
  })
}

/**
 * @param {{method?: 'GET' | 'POST', path: string, query?: Record<string, any>,
 *          data?: object, header?: Record<string, string>, auth?: boolean}} opts
 * @returns {Promise<any>} the body of the 2xx response
 */
async function request(opts) {
  if (opts.auth === false) return http.send(opts)
  const token = await auth.getToken()
  try {
    return await sendWithToken(opts, token)
  } catch (err) {
    if (!(err instanceof http.ApiError) || err.status !== 401) throw err
    const fresh = await auth.renewToken(token)
    return sendWithToken(opts, fresh)
  }
}

module.exports = {
  request: request,
  ApiError: http.ApiError
}
