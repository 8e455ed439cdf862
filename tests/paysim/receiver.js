// A notification receiver for the sandbox tests: answers the first FAIL_FIRST posts with
// 500 (to make the sandbox retry), the others with 200, verifies each signature on its
// own (Node's crypto, not the sandbox's code) with the public key the sandbox serves at
// /_sim/notify-key, and appends one JSON line per post to OUT.
//   node receiver.js OUT PUBKEY_PEM_FILE FAIL_FIRST   (prints "receiver: PORT" when ready)
'use strict';
const http = require('http');
const crypto = require('crypto');
const fs = require('fs');

const [out, pubFile, failFirst] = process.argv.slice(2);
const pub = fs.readFileSync(pubFile, 'utf8');
let seen = 0;

function verify(req, body) {
  const m = /^AMZN-PAY-RSASSA-PSS-V2 PublicKeyId=([^,]+), SignedHeaders=([^,]+), Signature=(.+)$/.exec(
    req.headers.authorization || '');
  if (!m) return false;
  const names = m[2].split(';');
  const url = new URL(req.url, 'http://x');
  let canonical = `${req.method}\n${url.pathname}\n${url.search.slice(1)}\n`;
  for (const n of names) canonical += `${n}:${req.headers[n]}\n`;
  canonical += `\n${m[2]}\n${crypto.createHash('sha256').update(body).digest('hex')}`;
  const sts = `AMZN-PAY-RSASSA-PSS-V2\n${crypto.createHash('sha256').update(canonical).digest('hex')}`;
  return crypto.verify('sha256', Buffer.from(sts), {
    key: pub, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32,
  }, Buffer.from(m[3], 'base64'));
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    seen++;
    const status = seen <= Number(failFirst) ? 500 : 200;
    let message = null;
    try { message = JSON.parse(JSON.parse(body.toString()).Message); } catch (e) { message = null; }
    fs.appendFileSync(out, JSON.stringify({ n: seen, status, verified: verify(req, body), message }) + '\n');
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(status === 200 ? 'ok' : 'try again');
  });
});
server.listen(0, '127.0.0.1', () => console.log(`receiver: ${server.address().port}`));
