// The hosted approval page of a checkout session in headless Chromium (Debian's
// /usr/bin/chromium through puppeteer-core, no browser download), on a phone-sized
// screen: it shows the merchant, the items, the amount and the recurring terms, lets the
// tester pick a buyer and a payment instrument, and Approve or Decline.
//   node page.js APPROVE_URL DECLINE_URL SCREENSHOT_FILE
'use strict';
const { check, text, run } = require('./browser');

const [approveUrl, declineUrl, shot] = process.argv.slice(2);

run(async (browser) => {
  const page = await browser.newPage();
  await page.setViewport({ width: 375, height: 740, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const resp = await page.goto(approveUrl, { waitUntil: 'load' });
  check('the approval page loads: 200', resp.status() === 200, resp.status());
  check('it names the merchant', (await text(page, '#merchant')) === 'shop1', await text(page, '#merchant'));
  check('it shows the amount', (await text(page, '#amount')) === 'EUR 9.99', await text(page, '#amount'));
  const terms = await text(page, '#terms');
  check('it shows the recurring terms', /EUR 9\.99 every 1 Month/.test(terms || ''), terms);
  check('it lists the items', /Colombian beans 500 g/.test((await text(page, '#items')) || ''), await text(page, '#items'));
  check('it escapes what the merchant wrote', (await page.$('#items script')) === null, null);
  const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  check('it fits a phone screen without scrolling sideways', fits, null);
  const vp = await page.$eval('meta[name=viewport]', (m) => m.content).catch(() => null);
  check('it has a mobile viewport', /width=device-width/.test(vp || ''), vp);
  await page.screenshot({ path: shot, fullPage: true });
  await page.select('#buyer', 'buyer-bob');
  await page.select('#instrument', 'card-ok');
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.tap('#approve')]);
  check('Approve: the page says approved', (await text(page, '#result')) === 'Payment approved', await text(page, '#result'));
  const perm = await text(page, '#permission');
  check('it shows the new charge permission', /^B02-\d{7}-\d{7}$/.test(perm || ''), perm);
  const back = await page.$eval('#return', (a) => a.href).catch(() => null);
  check('it links back to the merchant with the session id', /^https:\/\/shop\.example\/done\?amazonCheckoutSessionId=/.test(back || ''), back);
  console.log(`permission ${perm}`);

  const page2 = await browser.newPage();
  await page2.setViewport({ width: 375, height: 740, isMobile: true });
  await page2.goto(declineUrl, { waitUntil: 'load' });
  check('a one-time checkout says so', /One-time/.test((await text(page2, '#terms')) || ''), await text(page2, '#terms'));
  await Promise.all([page2.waitForNavigation({ waitUntil: 'load' }), page2.click('#decline')]);
  check('Decline: the page says declined', (await text(page2, '#result')) === 'Payment declined', await text(page2, '#result'));
  await page2.goto(declineUrl, { waitUntil: 'load' });
  check('a declined checkout cannot be approved afterwards', (await page2.$('#approve')) === null, null);
});
