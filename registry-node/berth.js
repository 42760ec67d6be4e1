// The package's entry point (`main`): the napi-generated loader `index.js`, with one addition.
// napi rejects an argument of the wrong JS type before the Rust method runs, throwing an error
// whose `.code` is napi's status (`InvalidArg`, `StringExpected`, …). Here those become what
// every other bad input is: a `TypeError` with `.code === 'BAD_REQUEST'` (napi's error is its
// `cause`), rejected like any other failure for the Promise methods and thrown for the
// synchronous functions. Nothing else changes; the types are index.d.ts.
'use strict'

const native = require('./index.js')

const NAPI_TYPE_CODES = new Set([
  'InvalidArg', 'ObjectExpected', 'StringExpected', 'NameExpected', 'FunctionExpected', 'NumberExpected',
  'BooleanExpected', 'ArrayExpected', 'GenericFailure', 'BigintExpected', 'DateExpected',
  'ArrayBufferExpected', 'DetachableArraybufferExpected',
])

function classify(e) {
  if (!(e instanceof Error) || !NAPI_TYPE_CODES.has(e.code)) return e
  const err = new TypeError(e.message, { cause: e })
  err.code = 'BAD_REQUEST'
  return err
}

function wrap(target, name, asPromise) {
  const d = Object.getOwnPropertyDescriptor(target, name)
  if (!d || typeof d.value !== 'function' || !d.writable || name === 'constructor') return
  const f = d.value
  const wrapped = {
    [name](...args) {
      try {
        return f.apply(this, args)
      } catch (e) {
        if (asPromise) return Promise.reject(classify(e))
        throw classify(e)
      }
    },
  }[name]
  Object.defineProperty(target, name, { ...d, value: wrapped })
}

for (const name of Object.getOwnPropertyNames(native.Registry.prototype)) wrap(native.Registry.prototype, name, true)
for (const name of ['open', 'serve']) wrap(native, name, true)
for (const name of ['checkRepositoryName', 'generateSigningKey', 'version']) wrap(native, name, false)

module.exports = native
