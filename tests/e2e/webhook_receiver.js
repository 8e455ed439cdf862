// A webhook receiver for test_merchant_webhooks.sh: answers the first FAILS requests with 500,
// every later one with 200, and appends each request it got (headers and body, and what it
// answered) to LOG as one JSON line. Prints "listening PORT" once it listens.
//   node webhook_receiver.js LOG FAILS
'use strict';
const http = require('http');
const fs = require('fs');
const [log, fails] = [process.argv[2], Number(process.argv[3] || 0)];
let seen = 0;
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const status = seen++ < fails ? 500 : 200;
    fs.appendFileSync(log, JSON.stringify({ headers: req.headers, body: Buffer.concat(chunks).toString(), status }) + '\n');
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(status === 200 ? 'ok' : 'try again');
  });
});
server.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port));
