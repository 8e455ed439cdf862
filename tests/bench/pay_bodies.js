// The paying turn's request pool for make bench: one signed "yes" per customer
// (BENCHPAY1..N), each answered by charging that customer's saved agreement.
// Signed here in one process (Signature-256: RSA SHA-256 over the exact bytes,
// as the platform signs), because N is in the thousands.
// usage: node pay_bodies.js DIR N SKILL_ID SIGNING_KEY_PEM
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const [dir, n, skill, keyFile] = process.argv.slice(2);
const key = fs.readFileSync(keyFile);
const ts = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
for (let i = 1; i <= Number(n); i++) {
  const user = `amzn1.ask.account.BENCHPAY${i}`;
  const body = JSON.stringify({
    version: '1.0',
    session: {new: false, sessionId: `amzn1.echo-api.session.benchpay-${i}`,
              application: {applicationId: skill}, user: {userId: user}},
    context: {System: {application: {applicationId: skill}, user: {userId: user},
                       device: {deviceId: 'amzn1.ask.device.BENCH', supportedInterfaces: {}},
                       apiEndpoint: 'https://api.amazonalexa.com'}},
    request: {type: 'IntentRequest', requestId: `amzn1.echo-api.request.benchpay-${i}`,
              timestamp: ts, locale: 'en-US',
              intent: {name: 'AMAZON.YesIntent', confirmationStatus: 'NONE'}},
  });
  const sig = crypto.sign('sha256', Buffer.from(body), key).toString('base64');
  fs.writeFileSync(`${dir}/pay${i}.json`, body);
  fs.writeFileSync(`${dir}/paysig${i}.txt`, sig);
}
