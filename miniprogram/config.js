// The only place that knows where the mppay service is.
// Real builds: an HTTPS, ICP-filed domain on the Mini Program's request whitelist.
// The browser preview and the end-to-end harness rewrite this origin inside their wx shim,
// so this file stays as it is.
module.exports = {
  apiBase: 'https://api.example.com',
  // wx.request timeout in ms (the platform maximum is 60 s, see app.json networkTimeout).
  requestTimeoutMs: 15000,
  // Network errors while creating an order are retried with the SAME Idempotency-Key.
  createOrderRetries: 2,
  createOrderRetryDelayMs: 500,
  // Confirmation polling of GET /api/orders/{id}?refresh=true after the cashier closes.
  poll: {
    attempts: 6,
    initialDelayMs: 1000,
    maxDelayMs: 4000,
    factor: 2
  },
  // Page size of "My orders".
  ordersPageSize: 10
}
