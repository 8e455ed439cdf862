// The provider's official Node SDK, unchanged, against voxcart-paysim over HTTPS with
// overrideServiceUrl: create (authorize only), get, capture and refund a charge, read the
// permission and the refund, a checkout session, an idempotent replay and a
// DuplicateIdempotencyKey, with both signing algorithms. Prints one "ok"/"FAIL" line per
// check; exits non-zero when one failed.
//   node sdk.js HOST:PORT PUBLIC_KEY_ID PRIVATE_KEY_FILE CHARGE_PERMISSION_ID
'use strict';
const fs = require('fs');
const Client = require('@amazonpay/amazon-pay-api-sdk-nodejs');

const [host, publicKeyId, keyFile, permId] = process.argv.slice(2);
const base = { publicKeyId, privateKey: fs.readFileSync(keyFile), region: 'eu', sandbox: true,
  overrideServiceUrl: host };
const v2 = new Client.WebStoreClient({ ...base, algorithm: 'AMZN-PAY-RSASSA-PSS-V2' });
const v1 = new Client.WebStoreClient(base); // the SDK's default: the older salt-20 algorithm
let failed = 0;

function check(what, ok, detail) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${ok ? '' : ` (${JSON.stringify(detail)})`}`);
  if (!ok) failed++;
}

async function refused(promise) {
  try { const r = await promise; return { status: r.status, data: r.data }; } catch (err) {
    return { status: err.status || (err.response && err.response.status), data: err.data || (err.response && err.response.data) };
  }
}

async function main() {
  const key = `sdk-${Date.now()}`;
  const created = await v2.createCharge({ chargePermissionId: permId,
    chargeAmount: { amount: '14.00', currencyCode: 'EUR' }, captureNow: false,
    canHandlePendingAuthorization: false,
    merchantMetadata: { merchantReferenceId: 'order-17', merchantStoreName: 'Coffee' } },
  { 'x-amz-pay-idempotency-key': key });
  const charge = created.data;
  check('createCharge: 201 Authorized', created.status === 201 && charge.statusDetails.state === 'Authorized', charge);
  const replay = await v2.createCharge({ chargePermissionId: permId,
    chargeAmount: { amount: '14.00', currencyCode: 'EUR' }, captureNow: false,
    canHandlePendingAuthorization: false,
    merchantMetadata: { merchantReferenceId: 'order-17', merchantStoreName: 'Coffee' } },
  { 'x-amz-pay-idempotency-key': key });
  check('createCharge again with the key: the same charge', replay.data.chargeId === charge.chargeId, replay.data);
  const dup = await refused(v2.createCharge({ chargePermissionId: permId,
    chargeAmount: { amount: '15.00', currencyCode: 'EUR' }, captureNow: false },
  { 'x-amz-pay-idempotency-key': key }));
  check('the key with another amount: 400 DuplicateIdempotencyKey',
    dup.status === 400 && dup.data && dup.data.reasonCode === 'DuplicateIdempotencyKey', dup);
  const got = await v1.getCharge(charge.chargeId);
  check('getCharge (salt-20 algorithm): 200', got.status === 200 && got.data.chargeId === charge.chargeId, got.data);
  check('merchantMetadata kept', got.data.merchantMetadata.merchantReferenceId === 'order-17', got.data);
  const cap = await v2.captureCharge(charge.chargeId,
    { captureAmount: { amount: '14.00', currencyCode: 'EUR' }, softDescriptor: 'COFFEE' },
    { 'x-amz-pay-idempotency-key': `${key}-cap` });
  check('captureCharge: Captured 14.00', cap.data.statusDetails.state === 'Captured' &&
    cap.data.captureAmount.amount === '14.00', cap.data);
  const ref = await v2.createRefund({ chargeId: charge.chargeId,
    refundAmount: { amount: '4.00', currencyCode: 'EUR' }, softDescriptor: 'REFUND' },
  { 'x-amz-pay-idempotency-key': `${key}-ref` });
  check('createRefund: 201 RefundInitiated', ref.status === 201 && ref.data.statusDetails.state === 'RefundInitiated', ref.data);
  const over = await refused(v2.createRefund({ chargeId: charge.chargeId,
    refundAmount: { amount: '10.01', currencyCode: 'EUR' } }, { 'x-amz-pay-idempotency-key': `${key}-ref2` }));
  check('refund above what is left: 400 TransactionAmountExceeded',
    over.status === 400 && over.data && over.data.reasonCode === 'TransactionAmountExceeded', over);
  const gr = await v2.getRefund(ref.data.refundId);
  check('getRefund: 200 with the amount', gr.status === 200 && gr.data.refundAmount.amount === '4.00', gr.data);
  const after = await v2.getCharge(charge.chargeId);
  check('the charge shows the refund', after.data.refundedAmount.amount === '4.00', after.data);
  const perm = await v2.getChargePermission(permId);
  check('getChargePermission: Chargeable with limits', perm.data.statusDetails.state === 'Chargeable' &&
    perm.data.limits.amountBalance.amount === '986.00', perm.data);
  const cs = await v2.createCheckoutSession({ webCheckoutDetails: {
    checkoutReviewReturnUrl: 'https://shop.example/review', checkoutResultReturnUrl: 'https://shop.example/done' },
  storeId: 'amzn1.application-oa2-client.test', chargePermissionType: 'Recurring',
  recurringMetadata: { frequency: { unit: 'Month', value: '1' }, amount: { amount: '9.99', currencyCode: 'EUR' } },
  paymentDetails: { paymentIntent: 'Confirm' } }, { 'x-amz-pay-idempotency-key': `${key}-cs` });
  check('createCheckoutSession: 201 with amazonPayRedirectUrl', cs.status === 201 &&
    /\/checkout\//.test(cs.data.webCheckoutDetails.amazonPayRedirectUrl), cs.data);
  const gcs = await v2.getCheckoutSession(cs.data.checkoutSessionId);
  check('getCheckoutSession: Open', gcs.data.statusDetails.state === 'Open', gcs.data);
}

main().catch((err) => {
  console.log(`FAIL unexpected error: ${err.message || err} ${JSON.stringify(err.data || (err.response && err.response.data) || '')}`);
  failed++;
}).finally(() => process.exit(failed ? 1 : 0));
