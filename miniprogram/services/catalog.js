// The product catalog: GET /api/products -> [{id, name, description, price_fen}].
// Prices are shown from the server's integer fen; the client never prices an order.

const api = require('../utils/request')
const money = require('../utils/money')

/**
 * @typedef {{id: string | number, name: string, description: string, priceFen: number, priceText: string}} ProductView
 */

/**
 * @param {any} product one entry of GET /api/products
 * @returns {ProductView}
 */
function toProductView(product) {
  return {
    id: product.id,
    name: String(product.name || ''),
    description: String(product.description || ''),
    priceFen: product.price_fen,
    priceText: money.formatPrice(product.price_fen)
  }
}

/** @returns {Promise<ProductView[]>} */
async function listProducts() {
  // Public: the list shows without logging in; login happens when an order is placed.
  const data = await api.request({ method: 'GET', path: '/api/products', auth: false })
  if (!Array.isArray(data)) {
    throw new api.ApiError({ status: 200, code: 'BAD_RESPONSE', message: 'The server sent an unexpected product list', data: data })
  }
  return data.map(toProductView)
}

/**
 * There is no GET /api/products/{id}: the confirmation page looks its product up in the list.
 * @param {string | number} productId as received in a page query (always a string there)
 * @returns {Promise<ProductView | null>}
 */
async function findProduct(productId) {
  const products = await listProducts()
  for (const product of products) {
    if (String(product.id) === String(productId)) return product
  }
  return null
}

module.exports = {
  listProducts: listProducts,
  findProduct: findProduct,
  toProductView: toProductView
}
