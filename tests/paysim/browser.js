// What the headless-Chromium page checks share: Debian's /usr/bin/chromium through
// puppeteer-core (no browser download), a check() that prints ok/FAIL lines and counts the
// failures, the text of an element, and a main that always closes the browser and exits
// non-zero when a check failed.
'use strict';
const puppeteer = require('puppeteer-core');

let failed = 0;
function check(what, ok, detail) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${ok ? '' : ` (${JSON.stringify(detail)})`}`);
  if (!ok) failed++;
}
const text = (page, sel) => page.$eval(sel, (e) => e.textContent.trim()).catch(() => null);

function run(body) {
  (async () => {
    const browser = await puppeteer.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--ignore-certificate-errors'],
    });
    try {
      await body(browser);
    } finally {
      await browser.close();
    }
  })().catch((err) => { console.log(`FAIL unexpected error: ${err.stack || err}`); failed++; })
    .finally(() => process.exit(failed ? 1 : 0));
}

module.exports = { check, text, run };
