// A customer approving voxcart's pay link in headless Chromium (Debian's /usr/bin/chromium
// through puppeteer-core): the link from the card in the companion app opens the provider's
// approval page on a phone-sized screen, which names the merchant and the amount; the customer
// picks a buyer and a payment instrument and taps Approve.
//   node paylink.js LINK SHOP AMOUNT
'use strict';
const puppeteer = require('puppeteer-core');

const [link, shop, amount] = process.argv.slice(2);
let failed = 0;
function check(what, ok, detail) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${ok ? '' : ` (${JSON.stringify(detail)})`}`);
  if (!ok) failed++;
}
const text = (page, sel) => page.$eval(sel, (e) => e.textContent.trim()).catch(() => null);

async function main() {
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--ignore-certificate-errors'],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 375, height: 740, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    const resp = await page.goto(link, { waitUntil: 'load' });
    check('the pay link opens the approval page: 200', resp.status() === 200, resp.status());
    check('it names the shop', (await text(page, '#merchant')) === shop, await text(page, '#merchant'));
    check('it shows the order total', (await text(page, '#amount')) === amount, await text(page, '#amount'));
    await page.select('#buyer', 'buyer-carol');
    await page.select('#instrument', 'card-ok');
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.tap('#approve')]);
    check('Approve: the page says approved', (await text(page, '#result')) === 'Payment approved', await text(page, '#result'));
  } finally {
    await browser.close();
  }
}

main().catch((err) => { console.log(`FAIL unexpected error: ${err.stack || err}`); failed++; })
  .finally(() => process.exit(failed ? 1 : 0));
