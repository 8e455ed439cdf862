// Create Charge requests per second against a running voxcart-paysim, signature checked
// (throttling off). The requests are signed first, by the provider's official Node SDK
// (getSignedHeaders), each with its own idempotency key, so the timed part is the
// sandbox's work: parse, verify the RSA-PSS signature, check limits, record the charge.
//   node bench.js http://127.0.0.1:PORT PUBLIC_KEY_ID KEY_FILE PERMISSION_ID N CONCURRENCY
'use strict';
const fs = require('fs');
const http = require('http');
const Client = require('@amazonpay/amazon-pay-api-sdk-nodejs');

const [base, publicKeyId, keyFile, permId, nArg, cArg] = process.argv.slice(2);
const url = new URL(base);
const n = Number(nArg), conc = Number(cArg);
const client = new Client.WebStoreClient({ publicKeyId, privateKey: fs.readFileSync(keyFile),
  region: 'eu', sandbox: true, algorithm: 'AMZN-PAY-RSASSA-PSS-V2', overrideServiceUrl: url.host });
const reqs = [];
for (let i = 0; i < n; i++) {
  const payload = JSON.stringify({ chargePermissionId: permId,
    chargeAmount: { amount: '0.01', currencyCode: 'EUR' }, captureNow: true });
  const opts = { method: 'POST', urlFragment: 'charges', payload,
    headers: { 'x-amz-pay-idempotency-key': `bench-${process.pid}-${i}` } };
  const headers = client.getSignedHeaders(opts); // also gives opts the SDK's path
  reqs.push({ payload, headers, path: `/${opts.urlFragment}` });
}
const agent = new http.Agent({ keepAlive: true, maxSockets: conc });
const counts = {};
let next = 0;
function one() {
  if (next >= n) return Promise.resolve();
  const r = reqs[next++];
  return new Promise((resolve) => {
    const req = http.request({ host: url.hostname, port: url.port, method: 'POST', path: r.path,
      headers: r.headers, agent }, (res) => {
      res.resume();
      res.on('end', () => { counts[res.statusCode] = (counts[res.statusCode] || 0) + 1; resolve(); });
    });
    req.on('error', () => { counts.error = (counts.error || 0) + 1; resolve(); });
    req.end(r.payload);
  }).then(one);
}
const t0 = process.hrtime.bigint();
Promise.all(Array.from({ length: conc }, one)).then(() => {
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(JSON.stringify({ requests: n, concurrency: conc, seconds: +s.toFixed(3),
    perSecond: Math.round(n / s), statuses: counts }));
  agent.destroy();
});
