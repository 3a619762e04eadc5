'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { createFakeWx } = require('../support/fake-wx')
const { loadModule } = require('../support/mp')

test('call resolves with the success result of a callback-only API', async () => {
  const fake = createFakeWx()
  const wxp = loadModule('utils/wx-promise', { wx: fake.wx })
  const res = await wxp.call('login', {})
  assert.equal(res.errMsg, 'login:ok')
  assert.equal(res.code, 'code-1')
})

test('call rejects with a WxError carrying errMsg and errno', async () => {
  const fake = createFakeWx({ loginFail: 'login:fail system error' })
  const wxp = loadModule('utils/wx-promise', { wx: fake.wx })
  await assert.rejects(wxp.call('login', {}), (err) => {
    assert.ok(err instanceof wxp.WxError)
    assert.ok(err instanceof Error)
    assert.equal(err.errMsg, 'login:fail system error')
    assert.equal(err.errno, 1)
    assert.equal(err.api, 'login')
    return true
  })
})

test('a complete-only outcome (old WeChat cancel) still settles the promise', async () => {
  const fake = createFakeWx({ pay: 'legacy-cancel' })
  const wxp = loadModule('utils/wx-promise', { wx: fake.wx })
  await assert.rejects(wxp.call('requestPayment', { timeStamp: '1', nonceStr: 'n', package: 'p', signType: 'RSA', paySign: 's' }),
    (err) => err.errMsg === 'requestPayment:cancel')
})

test('a missing API rejects instead of throwing', async () => {
  const fake = createFakeWx()
  const wxp = loadModule('utils/wx-promise', { wx: fake.wx })
  await assert.rejects(wxp.call('noSuchApi', {}), (err) => err.errMsg === 'noSuchApi:fail not supported')
})

test('the options reach wx unchanged, plus the three callbacks', async () => {
  const fake = createFakeWx()
  const wxp = loadModule('utils/wx-promise', { wx: fake.wx })
  const options = { title: 'x', mask: true }
  await wxp.call('showLoading', options)
  const raw = fake.callsTo('showLoading')[0].raw
  assert.deepEqual(Object.keys(raw).sort(), ['complete', 'fail', 'mask', 'success', 'title'])
  assert.deepEqual(options, { title: 'x', mask: true }, 'the caller\'s object is not mutated')
})
