// A customer approving voxcart's pay link in headless Chromium (Debian's /usr/bin/chromium
// through puppeteer-core): the link from the card in the companion app opens the provider's
// approval page on a phone-sized screen, which names the merchant and the amount; the customer
// picks a buyer and a payment instrument and taps Approve.
//   node paylink.js LINK SHOP AMOUNT
'use strict';
const { check, text, run } = require('./browser');

const [link, shop, amount] = process.argv.slice(2);

run(async (browser) => {
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
});
