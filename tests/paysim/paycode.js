// A customer setting the voice code on voxcartd's pay-link page in headless Chromium, on a
// phone-sized screen: the card's link opens the page, which shows the shop, the items and the
// total; a code that is not four digits is refused with a message; 4821 is taken and the
// customer is sent on to the provider's approval page, where they approve.
//   node paycode.js LINK SHOP ITEMS TOTAL PROVIDER_AMOUNT
'use strict';
const { check, text, run } = require('./browser');

const [link, shop, items, total, amount] = process.argv.slice(2);

run(async (browser) => {
  const page = await browser.newPage();
  await page.setViewport({ width: 375, height: 740, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const resp = await page.goto(link, { waitUntil: 'load' });
  check('the card link opens voxcartd\'s page: 200', resp.status() === 200, resp.status());
  check('it is voxcartd\'s page, not the provider\'s', page.url() === link, page.url());
  check('it names the shop', (await text(page, '#shop')) === shop, await text(page, '#shop'));
  const lines = await page.$$eval('#items li', (lis) =>
    lis.map((li) => [...li.children].map((s) => s.textContent.trim()).join(' ')).join('; '));
  check('it lists the items with their amounts', lines === items, lines);
  check('it shows the total', (await text(page, '#total')) === total, await text(page, '#total'));
  const label = await page.$eval('label[for=voice_code]', (l) => l.textContent).catch(() => null);
  check('the field is labelled', label === 'Voice code (optional, 4 digits)', label);
  const help = await text(page, '#voice_code_help');
  check('it explains when the code is asked', /asked for this code by voice/.test(help || ''), help);
  check('it has no script', (await page.$('script')) === null, null);
  const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  check('it fits a phone screen without scrolling sideways', fits, null);

  await page.type('#voice_code', '12a4');
  let [nav] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.tap('#continue')]);
  check('a code that is not four digits: 400', nav && nav.status() === 400, nav && nav.status());
  const err = await text(page, '#voice_code_error');
  check('the page says why', /four digits/.test(err || ''), err);
  check('and shows the order again', (await text(page, '#total')) === total, await text(page, '#total'));

  await page.type('#voice_code', '4821');
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.tap('#continue')]);
  check('4821: on to the provider\'s approval page', /\/checkout\//.test(page.url()), page.url());
  check('the approval page shows the order total', (await text(page, '#amount')) === amount, await text(page, '#amount'));
  await page.select('#buyer', 'buyer-carol');
  await page.select('#instrument', 'card-ok');
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.tap('#approve')]);
  check('Approve: the page says approved', (await text(page, '#result')) === 'Payment approved', await text(page, '#result'));
});
