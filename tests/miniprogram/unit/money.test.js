'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { createFakeWx } = require('../support/fake-wx')
const { loadModule } = require('../support/mp')

const money = loadModule('utils/money', { wx: createFakeWx().wx })

test('formats fen as yuan with two decimals', () => {
  assert.equal(money.formatFen(1), '0.01')
  assert.equal(money.formatFen(1990), '19.90')
  assert.equal(money.formatFen(0), '0.00')
  assert.equal(money.formatFen(10), '0.10')
  assert.equal(money.formatFen(100), '1.00')
  assert.equal(money.formatFen(123456789), '1234567.89')
})

test('amounts that are classic float traps come out exact', () => {
  // 0.1 + 0.2 in yuan, and values whose /100 is not representable in binary
  assert.equal(money.formatFen(10 + 20), '0.30')
  assert.equal(money.formatFen(1005), '10.05')
  assert.equal(money.formatFen(29), '0.29')
  assert.equal(money.formatFen(57), '0.57')
  // the largest safe integer: float division would round the yuan part up
  assert.equal(money.formatFen(Number.MAX_SAFE_INTEGER), '90071992547409.91')
})

test('negative amounts keep their sign', () => {
  assert.equal(money.formatFen(-5), '-0.05')
  assert.equal(money.formatFen(-1990), '-19.90')
})

test('formatPrice adds the yuan sign', () => {
  assert.equal(money.formatPrice(1990), '¥19.90')
})

test('anything but an integer number of fen is refused, not guessed', () => {
  for (const bad of [19.9, '1990', NaN, Infinity, null, undefined, 2 ** 53]) {
    assert.throws(() => money.formatFen(bad), TypeError, `accepted ${String(bad)}`)
  }
})
