// Checks answers recorded from voxcartd against the OpenAPI document (openapi/merchant-v1.json):
// each answer's status must be documented for its operation and its body must match the
// response's schema (the subset of JSON Schema the document uses: type, enum, required,
// properties, additionalProperties, items, minItems, minimum, maximum, minLength, maxLength,
// pattern, allOf, $ref). Prints one line per answer; exits 1 when any does not match, or when
// an operation of the document was never exercised.
//   node openapi_check.js DOC CASES   (CASES: one JSON line {method, path, status, body} each)
'use strict';
const fs = require('fs');
const doc = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const cases = fs.readFileSync(process.argv[3], 'utf8').split('\n').filter(Boolean).map(JSON.parse);

function resolve(s) {
  while (s && s.$ref) s = s.$ref.replace(/^#\//, '').split('/').reduce((o, k) => o[k], doc);
  return s;
}
function typeOf(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}
function check(s, v, at, errs) {
  s = resolve(s);
  if (!s) return;
  for (const sub of s.allOf || []) check(sub, v, at, errs);
  if (s.type) {
    const types = [].concat(s.type), t = typeOf(v);
    if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) {
      errs.push(`${at}: ${t}, not ${types.join('|')}`);
      return;
    }
  }
  if (s.enum && !s.enum.includes(v)) errs.push(`${at}: ${JSON.stringify(v)} not one of ${s.enum}`);
  if (typeof v === 'number') {
    if (s.minimum !== undefined && v < s.minimum) errs.push(`${at}: below ${s.minimum}`);
    if (s.maximum !== undefined && v > s.maximum) errs.push(`${at}: above ${s.maximum}`);
  }
  if (typeof v === 'string') {
    if (s.minLength !== undefined && v.length < s.minLength) errs.push(`${at}: too short`);
    if (s.maxLength !== undefined && v.length > s.maxLength) errs.push(`${at}: too long`);
    if (s.pattern && !new RegExp(s.pattern).test(v)) errs.push(`${at}: does not match ${s.pattern}`);
  }
  if (Array.isArray(v)) {
    if (s.minItems !== undefined && v.length < s.minItems) errs.push(`${at}: fewer than ${s.minItems}`);
    if (s.items) v.forEach((x, i) => check(s.items, x, `${at}[${i}]`, errs));
  }
  if (typeOf(v) === 'object') {
    for (const r of s.required || []) if (!(r in v)) errs.push(`${at}: '${r}' missing`);
    const props = s.properties || {};
    for (const [k, x] of Object.entries(v)) {
      if (props[k]) check(props[k], x, `${at}.${k}`, errs);
      else if (s.additionalProperties === false) errs.push(`${at}: '${k}' is not in the schema`);
      else if (typeof s.additionalProperties === 'object') check(s.additionalProperties, x, `${at}.${k}`, errs);
    }
  }
}
function operation(method, path) {
  const p = path.split('?')[0];
  for (const [tmpl, item] of Object.entries(doc.paths)) {
    const re = new RegExp('^' + tmpl.replace(/\{[^}]+\}/g, '[^/]+') + '$');
    if (re.test(p) && item[method.toLowerCase()]) return [tmpl, item[method.toLowerCase()]];
  }
  return [null, null];
}

let bad = 0;
const used = new Set();
for (const c of cases) {
  const [tmpl, op] = operation(c.method, c.path);
  const errs = [];
  if (!op) errs.push('no such operation in the document');
  else {
    used.add(`${c.method.toLowerCase()} ${tmpl}`);
    const r = op.responses[String(c.status)];
    if (!r) errs.push(`status ${c.status} is not documented`);
    else {
      let body;
      try { body = JSON.parse(c.body); } catch (e) { errs.push('the body is not JSON'); }
      if (body !== undefined) check(r.content['application/json'].schema, body, '$', errs);
    }
  }
  console.log(`${errs.length ? 'FAIL' : 'ok  '} ${c.method} ${c.path} ${c.status}${errs.length ? ': ' + errs.join('; ') : ''}`);
  if (errs.length) bad++;
}
for (const [tmpl, item] of Object.entries(doc.paths))
  for (const m of Object.keys(item))
    if (!used.has(`${m} ${tmpl}`)) { console.log(`FAIL ${m.toUpperCase()} ${tmpl}: never exercised`); bad++; }
console.log(`${cases.length} answers, ${bad} problems`);
process.exit(bad ? 1 : 0);
