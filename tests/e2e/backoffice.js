// The back-office page (/backoffice) in headless Chromium (Debian's /usr/bin/chromium through
// puppeteer-core, installed with the sandbox's test packages): sign in with a token, pick the
// shop, see the paid order with its ledger, refund it, see it refunded and the event in the feed;
// see the shop's subscription, pause it, see it paused and the event, resume it.
//   node backoffice.js BASE_URL TOKEN ORDER SCREENSHOT_FILE SUBSCRIPTION
'use strict';
const puppeteer = require('puppeteer-core');

const [base, token, order, shot, sub] = process.argv.slice(2);
let failed = 0;
function check(what, ok, detail) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${ok ? '' : ` (${JSON.stringify(detail)})`}`);
  if (!ok) failed++;
}
const row = `tr[data-order="${order}"]`;
const text = (page, sel) => page.$eval(sel, (e) => e.textContent.trim()).catch(() => null);
const waitText = (page, sel, re) =>
  page.waitForFunction((s, r) => { const e = document.querySelector(s); return e && new RegExp(r).test(e.textContent); },
    { timeout: 10000 }, sel, re).then(() => true, () => false);

async function main() {
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--ignore-certificate-errors'],
  });
  try {
    const page = await browser.newPage();
    const resp = await page.goto(base + '/backoffice', { waitUntil: 'load' });
    check('the back office loads: 200', resp.status() === 200, resp.status());
    await page.type('#token', 'not-a-token');
    await page.click('#signin');
    check('a bad token is refused with the API\'s code', await waitText(page, '#message', 'token_malformed'), await text(page, '#message'));
    await page.$eval('#token', (e) => { e.value = ''; });
    await page.type('#token', token);
    await page.click('#signin');
    check('signed in, the shops are listed', await waitText(page, '#message', 'Signed in'), await text(page, '#message'));
    const shops = await page.$$eval('#shop option', (os) => os.map((o) => o.value));
    check('the demo shop is there', shops.includes('corner_coffee'), shops);
    await page.select('#shop', 'corner_coffee');
    check('the paid order is shown', await waitText(page, `${row} .state`, '^PAID$'), await text(page, row));
    check('with its ledger', await waitText(page, `${row} .ledger`, 'CHARGE_PENDING → PAID by janitor'), await text(page, `${row} .ledger`));
    await page.screenshot({ path: shot, fullPage: true });
    await page.$eval(`${row} .amount`, (e) => { e.value = '900'; });
    await page.click(`${row} .refund`);
    check('refunding it says so', await waitText(page, '#message', `Refunded 9.00 EUR of order ${order}: REFUNDED`), await text(page, '#message'));
    check('the order is shown REFUNDED', await waitText(page, `${row} .state`, '^REFUNDED$'), await text(page, row));
    check('its ledger shows the refund by the merchant', await waitText(page, `${row} .ledger`, 'PAID → REFUNDED by merchant, 9.00 EUR'), await text(page, `${row} .ledger`));
    check('the event feed shows the refund', await waitText(page, '#events', 'order.refunded corner_coffee'), await text(page, '#events'));
    check('no refund button is left on it', (await page.$(`${row} .refund`)) === null, null);
    const srow = `tr[data-subscription="${sub}"]`;
    check('the subscription is shown active', await waitText(page, `${srow} .status`, '^active$'), await text(page, srow));
    check('... with bill now, not resume', (await page.$(`${srow} .bill_now`)) !== null && (await page.$(`${srow} .resume`)) === null, await text(page, srow));
    await page.click(`${srow} .pause`);
    check('pausing it says so', await waitText(page, '#message', `Subscription ${sub}: pause, now paused`), await text(page, '#message'));
    check('it is shown paused, with resume and no pause', await waitText(page, `${srow} .status`, '^paused$') &&
      (await page.$(`${srow} .resume`)) !== null && (await page.$(`${srow} .pause`)) === null, await text(page, srow));
    check('the event feed shows the pause', await waitText(page, '#events', 'subscription.paused corner_coffee'), await text(page, '#events'));
    await page.click(`${srow} .resume`);
    check('resumed: active again', await waitText(page, `${srow} .status`, '^active$'), await text(page, srow));
  } finally {
    await browser.close();
  }
}
main().then(() => process.exit(failed ? 1 : 0), (e) => { console.log('FAIL ' + e.stack); process.exit(1); });
