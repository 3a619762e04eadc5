// The transport under utils/request.js: one wx.request, its statusCode checked, the service's
// error body mapped. No token handling here (services/auth logs in through this module, and
// utils/request adds the token on top of it).
//
// wx.request calls `success` for EVERY HTTP status, 4xx and 5xx included; `fail` means the
// request never got an HTTP answer (timeout, DNS/TLS, not whitelisted, backgrounded).

const config = require('../config')
const wxp = require('./wx-promise')

/**
 * One error type for everything the service (or the way to it) can say no with.
 *  - HTTP error:      status = the HTTP status, code / message / requestId from the service's
 *                     {"code","message","request_id"} body (or HTTP_<status> if the body is not that)
 *  - transport error: status = 0, network = true, code = 'NETWORK_ERROR', errMsg = wx's errMsg
 *  - client error:    status = 0, network = false (e.g. WX_LOGIN_FAILED, BAD_RESPONSE)
 */
class ApiError extends Error {
  /**
   * @param {{status?: number, code: string, message: string, requestId?: string,
   *          errMsg?: string, network?: boolean, data?: any}} fields
   */
  constructor(fields) {
    super(fields.message)
    this.name = 'ApiError'
    this.status = fields.status || 0
    this.code = fields.code
    /** @type {string | undefined} */
    this.requestId = fields.requestId
    /** @type {string | undefined} */
    this.errMsg = fields.errMsg
    this.network = !!fields.network
    this.data = fields.data
  }
}

const GENERIC_MESSAGES = {
  400: 'The request was not accepted',
  401: 'Please sign in again',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Conflict with the current state',
  422: 'The request was not accepted',
  429: 'Too many requests, please try again shortly',
  500: 'The server had a problem, please try again',
  502: 'The server is unreachable, please try again',
  503: 'The server is busy, please try again',
  504: 'The server took too long, please try again'
}

/**
 * @param {any} header
 * @param {string} name lower-case header name
 * @returns {string | undefined}
 */
function headerValue(header, name) {
  if (!header || typeof header !== 'object') return undefined
  for (const key of Object.keys(header)) {
    if (key.toLowerCase() === name) return String(header[key])
  }
  return undefined
}

/**
 * Maps a non-2xx wx.request success result to an ApiError.
 * @param {{statusCode: number, data: any, header?: any}} res
 * @returns {ApiError}
 */
function errorFromResponse(res) {
  const body = res.data
  const status = res.statusCode
  const isErrorBody = !!body && typeof body === 'object' && typeof body.code === 'string'
  const generic = /** @type {Record<number, string>} */ (GENERIC_MESSAGES)[status] ||
    (status >= 500 ? 'The server had a problem, please try again' : 'The request failed')
  return new ApiError({
    status: status,
    code: isErrorBody ? body.code : 'HTTP_' + status,
    message: isErrorBody && typeof body.message === 'string' && body.message ? body.message : generic,
    requestId: (isErrorBody && typeof body.request_id === 'string' ? body.request_id : undefined) ||
      headerValue(res.header, 'x-request-id'),
    data: body
  })
}

/**
 * Maps a wx.request `fail` (no HTTP answer at all) to an ApiError.
 * @param {any} err a WxError from wx-promise
 * @returns {ApiError}
 */
function errorFromTransport(err) {
  const errMsg = err && typeof err.errMsg === 'string' ? err.errMsg : 'request:fail'
  return new ApiError({
    status: 0,
    code: 'NETWORK_ERROR',
    message: /timeout/i.test(errMsg)
      ? 'The network timed out, please try again'
      : 'Could not reach the server, please check the network',
    errMsg: errMsg,
    network: true
  })
}

/**
 * @param {string} path  e.g. '/api/orders'
 * @param {Record<string, string | number | boolean | null | undefined>} [query]
 * @returns {string} the absolute URL on config.apiBase
 */
function buildUrl(path, query) {
  const parts = []
  if (query) {
    for (const key of Object.keys(query)) {
      const value = query[key]
      if (value === undefined || value === null || value === '') continue
      parts.push(encodeURIComponent(key) + '=' + encodeURIComponent(String(value)))
    }
  }
  return config.apiBase + path + (parts.length ? '?' + parts.join('&') : '')
}

/**
 * Sends one request and returns the response body of a 2xx answer.
 * Throws ApiError for any other status and for transport failures. Never retries.
 *
 * @param {{method?: 'GET' | 'POST', path: string, query?: Record<string, any>,
 *          data?: object, header?: Record<string, string>}} opts
 * @returns {Promise<any>}
 */
function send(opts) {
  const header = Object.assign({ 'content-type': 'application/json' }, opts.header)
  /** @type {any} */
  const options = {
    url: buildUrl(opts.path, opts.query),
    method: opts.method || 'GET',
    header: header,
    dataType: 'json',
    timeout: config.requestTimeoutMs
  }
  if (opts.data !== undefined) options.data = opts.data
  return wxp.call('request', options).then(
    function (res) {
      if (res.statusCode >= 200 && res.statusCode < 300) return res.data
      throw errorFromResponse(res)
    },
    function (err) {
      throw errorFromTransport(err)
    }
  )
}

module.exports = {
  ApiError: ApiError,
  send: send,
  buildUrl: buildUrl,
  errorFromResponse: errorFromResponse,
  errorFromTransport: errorFromTransport
}
