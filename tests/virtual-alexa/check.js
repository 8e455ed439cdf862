// The interaction models in intents/models/ loaded into virtual-alexa (the common Node test tool
// for skills): each sample utterance below is turned into a request by the tool from the model,
// sent to a running voxcartd in development mode, and must reach the intended intent with the
// intended slots, and voxcartd must answer it with speech.
//
// virtual-alexa matches utterances against the samples literally and cannot split two slots
// that touch ("{quantity} {size} {product}"): it is given the models without those samples,
// the ones `voxcart model check` warns about. The platform matches them; fixtures pin what
// voxcartd answers to them.
//
// usage: node check.js SKILL_URL INTENTS_DIR
const fs = require('fs');
const os = require('os');
const path = require('path');
const va = require('virtual-alexa');

const url = process.argv[2];
const dir = process.argv[3];
const catalog = JSON.parse(fs.readFileSync(path.join(dir, 'catalog.json'), 'utf8'));

// Every name and synonym of a product, lower-cased, in every language: a slot value the tool
// could not resolve to an ID still reaches the right product when it is one of these.
function productNames(id) {
  const p = catalog.products.find((x) => x.id === id);
  const names = new Set([id]);
  if (p) {
    for (const lang of Object.values(p.names)) {
      for (const k of ['one', 'other']) if (lang[k]) names.add(lang[k].toLowerCase());
      for (const s of lang.synonyms || []) names.add(s.toLowerCase());
    }
  }
  return names;
}

const en = [
  ["I'd like a latte", 'OrderIntent', { product: 'latte' }],
  ['an espresso', 'OrderIntent', { product: 'espresso' }],
  ['two cups of latte in large', 'OrderIntent', { product: 'latte', quantity: 'two', size: 'large' }],
  ['a large cup of cappuccino', 'OrderIntent', { product: 'cappuccino', size: 'large' }],
  ['3 bags of coffee beans', 'OrderIntent', { product: 'coffee_beans', quantity: '3' }],
  ['make it three', 'OrderIntent', { quantity: 'three' }],
  ['medium', 'OrderIntent', { size: 'medium' }],
  ['my usual', 'ReorderIntent', {}],
  ["what's in my cart", 'CartIntent', {}],
  ['remove the espresso', 'RemoveItemIntent', { product: 'espresso' }],
  ["that's all", 'CheckoutIntent', {}],
  ['what did I order', 'OrderStatusIntent', {}],
  ['yes', 'AMAZON.YesIntent', {}],
  ['no', 'AMAZON.NoIntent', {}],
  ['help', 'AMAZON.HelpIntent', {}],
  ['cancel', 'AMAZON.CancelIntent', {}],
  ['stop', 'AMAZON.StopIntent', {}],
];
const cases = {
  'en-US': en,
  'en-GB': en,
  'de-DE': [
    ['ich hätte gern einen latte', 'OrderIntent', { product: 'latte' }],
    ['2 mal latte macchiato in groß', 'OrderIntent', { product: 'latte', quantity: '2', size: 'groß' }],
    ['eine kakao bitte', 'OrderIntent', { product: 'hot_chocolate' }],
    ['wie immer', 'ReorderIntent', {}],
    ['was ist in meinem warenkorb', 'CartIntent', {}],
    ['entferne den espresso', 'RemoveItemIntent', { product: 'espresso' }],
    ['das ist alles', 'CheckoutIntent', {}],
    ['was habe ich gekauft', 'OrderStatusIntent', {}],
    ['ja bitte', 'AMAZON.YesIntent', {}],
    ['klein', 'OrderIntent', { size: 'klein' }],
    ['ich nehme einen espresso', 'OrderIntent', { product: 'espresso' }],
    ['ja', 'AMAZON.YesIntent', {}],
    ['nein', 'AMAZON.NoIntent', {}],
    ['hilfe', 'AMAZON.HelpIntent', {}],
    ['abbrechen', 'AMAZON.CancelIntent', {}],
    ['stopp', 'AMAZON.StopIntent', {}],
  ],
};

// The model without the samples whose slots touch; returns the path of that copy.
function modelForTool(locale) {
  const m = JSON.parse(fs.readFileSync(path.join(dir, 'models', `${locale}.json`), 'utf8'));
  for (const i of m.interactionModel.languageModel.intents) {
    if (i.samples) i.samples = i.samples.filter((s) => !/\}\s*\{/.test(s));
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vx-model-'));
  const file = path.join(tmp, `${locale}.json`);
  fs.writeFileSync(file, JSON.stringify(m));
  process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
  return file;
}

function slotMatches(name, slot, want) {
  if (!slot || !slot.value) return false;
  if (name !== 'product') return String(slot.value).toLowerCase() === want;
  const r = slot.resolutions && slot.resolutions.resolutionsPerAuthority[0];
  if (r && r.values && r.values.length) return r.values[0].value.id === want;
  return productNames(want).has(String(slot.value).toLowerCase());
}

(async () => {
  let bad = 0;
  let total = 0;
  for (const locale of Object.keys(cases)) {
    const alexa = va.VirtualAlexa.Builder()
      .interactionModelFile(modelForTool(locale))
      .skillURL(url).locale(locale).applicationID('amzn1.ask.skill.test').create();
    for (const [utt, intent, slots] of cases[locale]) {
      total++;
      let sent = null;
      let reply = null;
      alexa.filter((req) => { sent = req; });
      try {
        reply = await alexa.utter(utt);
      } catch (e) {
        console.log(`FAIL ${locale} '${utt}': ${e.message}`);
        bad++;
        continue;
      }
      const i = sent && sent.request.intent;
      const problems = [];
      if (!i || i.name !== intent) problems.push(`reached ${i ? i.name : 'no intent'}`);
      for (const [k, v] of Object.entries(slots)) {
        if (!i || !slotMatches(k, i.slots && i.slots[k], v)) problems.push(`slot ${k} is not '${v}'`);
      }
      const speech = reply && reply.response && reply.response.outputSpeech;
      if (!speech) problems.push('voxcartd answered without speech');
      console.log(`${problems.length ? 'FAIL' : 'ok  '} ${locale} '${utt}' -> ${i ? i.name : '-'}` +
        (problems.length ? `: ${problems.join(', ')}` : ''));
      if (problems.length) bad++;
    }
  }
  console.log(`${total - bad} passed, ${bad} failed`);
  process.exit(bad ? 1 : 0);
})();
