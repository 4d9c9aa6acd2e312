// The console and the GraphQL playground in headless Chromium, against a
// bank the Go test (browser_test.go) started. Each person has a browser
// context of their own, as if on their own device. Steps run in order and
// the first failure ends the run (later steps build on earlier ones).
//
// Environment: BANK_URL, BANK_OPERATOR_EMAIL, BANK_OPERATOR_PASSWORD,
// BANK_TEMPORAL_NAMESPACE, CHROMIUM, and BANK_SCREENSHOTS (a directory for
// docs/img screenshots, or empty).

import { readFileSync } from 'node:fs';
import { strict as assert } from 'node:assert';
import { chromium } from 'playwright-core';

const BASE = process.env.BANK_URL;
const SHOTS = process.env.BANK_SCREENSHOTS || '';
const BUDGET = 200 * 1024; // the console's first load, bytes transferred
const XSS = '<img src=x onerror=alert(1)>';
const AXE = readFileSync(new URL('./node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');

assert.ok(BASE, 'BANK_URL is not set');
const origin = new URL(BASE);

// ---- running steps ---------------------------------------------------------

let passed = 0;
async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
  } catch (err) {
    console.log(`not ok - ${name}: ${err && err.stack ? err.stack : err}`);
    console.log(`${passed} passed, 1 failed`);
    await shutdown();
    process.exit(1);
  }
  passed += 1;
  console.log(`ok - ${name} (${Date.now() - started} ms)`);
}

// ---- the browser and what each page must never do -------------------------

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    // As on a machine without internet: no name resolves but the bank's.
    `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${origin.hostname}`,
  ],
});
async function shutdown() { await browser.close().catch(() => {}); }

// Everything a page did wrong: a request to another origin, a CSP violation,
// a script error, a dialog (an alert() would mean injected script ran).
const faults = [];

async function person(name, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'en-NG', ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.protocol !== 'data:' && u.origin !== origin.origin) faults.push(`${name}: request to another origin: ${r.url()}`);
  });
  page.on('websocket', (ws) => {
    if (new URL(ws.url()).host !== origin.host) faults.push(`${name}: WebSocket to another host: ${ws.url()}`);
  });
  page.on('console', (m) => {
    if (/Content.Security.Policy/i.test(m.text())) faults.push(`${name}: CSP violation: ${m.text()}`);
  });
  page.on('pageerror', (e) => faults.push(`${name}: script error: ${e.message}`));
  page.on('dialog', (d) => { faults.push(`${name}: a dialog opened: ${d.message()}`); d.dismiss().catch(() => {}); });
  return { name, context, page };
}

function noFaults() {
  assert.deepEqual(faults, [], 'pages misbehaved');
}

async function shot(page, file) {
  if (SHOTS) await page.screenshot({ path: `${SHOTS}/${file}.png`, fullPage: false });
}

// audit runs axe-core on the page and fails on serious or critical
// accessibility problems (contrast, labels, names, roles...). axe is
// evaluated through DevTools, which the page's CSP does not govern; the
// page itself still runs under its CSP.
async function audit(page, what) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`), [],
    `accessibility problems on ${what}`);
}

// ---- the bank's REST API, for setup and for checking what moved -----------

async function rest(method, path, { token, body } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body) headers['Content-Type'] = 'application/json';
  const resp = await fetch(BASE + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const data = await resp.json().catch(() => null);
  return { status: resp.status, data };
}

async function login(email, password) {
  const r = await rest('POST', '/auth/login', { body: { email, password } });
  assert.equal(r.status, 200, `login ${email}`);
  return r.data.access_token;
}

const digits = (n) => Array.from({ length: n }, () => Math.floor(Math.random() * 10)).join('');
// A NIN/BVN the mock registry verifies at once (not ...0000, not ...9999).
const verifiedNumber = () => `${digits(7)}${1000 + Math.floor(Math.random() * 8000)}`;
const unique = () => `${Date.now().toString(36)}${digits(4)}`;

function customer(fullName) {
  const tag = unique();
  return {
    fullName, email: `${fullName.split(' ')[0].toLowerCase()}-${tag}@example.com`,
    password: `correct-horse-${tag}`, phone: `0803${digits(7)}`, nin: verifiedNumber(),
  };
}

// ---- the console, as a person uses it --------------------------------------

async function fillRegistration(page, c, phone) {
  await page.getByLabel('Full name').fill(c.fullName);
  await page.getByLabel('Email').fill(c.email);
  await page.getByLabel('Phone').fill(phone);
  await page.getByLabel('Password').fill(c.password);
  await page.getByLabel('Document').selectOption('NIN');
  await page.getByLabel('Number').fill(c.nin);
}

async function register(p, c) {
  await p.page.goto(`${BASE}/console/#/register`);
  await fillRegistration(p.page, c, c.phone);
  await p.page.getByRole('button', { name: 'Open account' }).click();
  await p.page.getByRole('heading', { name: 'Your accounts' }).waitFor();
  const number = (await p.page.locator('article.account h2 .mono').first().textContent()).trim();
  assert.match(number, /^\d{10}$/);
  return number;
}

async function signIn(p, email, password) {
  await p.page.goto(`${BASE}/console/#/sign-in`);
  await p.page.getByLabel('Email').fill(email);
  await p.page.getByLabel('Password').fill(password);
  await p.page.getByRole('button', { name: 'Sign in' }).click();
}

// balanceShown waits until the account card shows the balance.
async function balanceShown(page, amount) {
  await page.locator('[data-testid="balance"]', { hasText: amount }).first().waitFor();
}

// A reload would drop this mark: it proves something arrived live.
const mark = (page) => page.evaluate(() => { window.__noReload = true; });
const stillMarked = async (page) => assert.equal(await page.evaluate(() => window.__noReload === true), true, 'the page reloaded');

// ---- the scenario -------------------------------------------------------------

const ada = customer('Ada Obi');
const chidi = customer('Chidi Okeke');
let adaAcc = '';
let chidiAcc = '';
let A; let B; let OP;

await step('the console\'s first load is under 200 KB transferred, all from the bank', async () => {
  const p = await person('first visit');
  const cdp = await p.context.newCDPSession(p.page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  let bytes = 0;
  let requests = 0;
  cdp.on('Network.loadingFinished', (e) => { bytes += e.encodedDataLength; requests += 1; });
  await p.page.goto(`${BASE}/console/`, { waitUntil: 'networkidle' });
  await p.page.getByRole('heading', { name: 'Sign in' }).waitFor();
  console.log(`figure: console first load: ${bytes} bytes transferred (${(bytes / 1024).toFixed(1)} KiB) in ${requests} requests; budget ${BUDGET / 1024} KiB`);
  assert.ok(bytes > 0 && bytes < BUDGET, `first load ${bytes} bytes, budget ${BUDGET}`);
  const resp = await p.page.request.get(`${BASE}/console/`);
  const csp = resp.headers()['content-security-policy'] || '';
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  await audit(p.page, 'sign-in');
  await shot(p.page, 'console-sign-in');
  await p.context.close();
  noFaults();
});

await step('money is formatted from the decimal strings, exactly (in the browser, by the console\'s own module)', async () => {
  const p = await person('money');
  await p.page.goto(`${BASE}/console/`);
  const got = await p.page.evaluate(async () => {
    const m = await import('/console/js/money.js');
    return {
      formatted: ['0', '1500.5', '1500.50', '1000000000000000', '0.1', '-20', '00012.3', 'x1'].map(m.formatNaira),
      limits: [null, '50000.00'].map(m.formatLimit),
      parsed: ['1,500.5', ' 1500 ', '₦2,000.00', '0', '0.00', '1.234', '1e3', '-5', '', '12345678901234567'].map(m.parseAmount),
      // 0.1 + 0.2 in kobo is exactly 30, as it is not in floating point.
      kobo: String(m.toKobo('0.1') + m.toKobo('0.2')),
      big: String(m.toKobo('9007199254740993.99')),
    };
  });
  assert.deepEqual(got, {
    formatted: ['₦0.00', '₦1,500.50', '₦1,500.50', '₦1,000,000,000,000,000.00', '₦0.10', '−₦20.00', '₦12.30', 'x1'],
    limits: ['Unlimited', '₦50,000.00'],
    parsed: ['1500.5', '1500', '2000.00', null, null, null, null, null, null, null],
    kobo: '30',
    big: '900719925474099399',
  });
  await p.context.close();
  noFaults();
});

await step('registration shows the API\'s field error next to the field, then opens the account', async () => {
  A = await person('Ada');
  await A.page.goto(`${BASE}/console/#/register`);
  await fillRegistration(A.page, ada, '12345');
  await A.page.getByRole('button', { name: 'Open account' }).click();
  const error = A.page.locator('.field[data-field="phone"] .field-error');
  await error.waitFor();
  assert.ok((await error.textContent()).trim().length > 0, 'the phone error is empty');
  const phone = A.page.getByLabel('Phone');
  assert.equal(await phone.getAttribute('aria-invalid'), 'true');
  const errorId = await error.getAttribute('id');
  assert.ok((await phone.getAttribute('aria-describedby')).split(' ').includes(errorId), 'the error is not tied to the field');
  assert.equal(await A.page.evaluate(() => document.activeElement && document.activeElement.name), 'phone', 'focus is not on the field in error');
  assert.equal(await A.page.locator('.field-error:visible').count(), 1, 'only the phone is wrong');
  await audit(A.page, 'registration with an error');
  await shot(A.page, 'console-register');

  await phone.fill(ada.phone);
  await A.page.getByRole('button', { name: 'Open account' }).click();
  await A.page.getByRole('heading', { name: 'Your accounts' }).waitFor();
  adaAcc = (await A.page.locator('article.account h2 .mono').first().textContent()).trim();
  assert.match(adaAcc, /^\d{10}$/);
  await balanceShown(A.page, '₦0.00');
  noFaults();
});

await step('a second customer registers and signs in in another context', async () => {
  B = await person('Chidi');
  chidiAcc = await register(B, chidi);
  await B.page.getByRole('button', { name: 'Sign out' }).click();
  await B.page.getByText('You have signed out.').waitFor();
  await signIn(B, chidi.email, chidi.password);
  await B.page.getByRole('heading', { name: 'Your accounts' }).waitFor();
  assert.equal((await B.page.locator('article.account h2 .mono').first().textContent()).trim(), chidiAcc);
  noFaults();
});

await step('the token is kept out of localStorage, sessionStorage and cookies', async () => {
  const stored = await B.page.evaluate(() => ({
    local: Object.keys(localStorage), session: Object.keys(sessionStorage), cookie: document.cookie,
  }));
  assert.deepEqual(stored, { local: [], session: [], cookie: '' });
});

await step('the operator deposits, and the customer sees the balance move without reloading', async () => {
  await A.page.goto(`${BASE}/console/#/accounts`);
  await balanceShown(A.page, '₦0.00');
  await mark(A.page);

  OP = await person('operator');
  await signIn(OP, process.env.BANK_OPERATOR_EMAIL, process.env.BANK_OPERATOR_PASSWORD);
  await OP.page.getByRole('heading', { name: 'Customer accounts' }).waitFor();
  await OP.page.getByLabel('Account number').fill(adaAcc);
  await OP.page.getByRole('button', { name: 'Find' }).click();
  await OP.page.locator('[data-testid="holder"]', { hasText: ada.fullName }).waitFor();
  await OP.page.getByLabel('Amount (₦)').fill('50,000');
  await OP.page.getByRole('button', { name: 'Deposit' }).click();
  await OP.page.locator('.alert-success', { hasText: 'Deposited ₦50,000.00' }).waitFor();
  await balanceShown(OP.page, '₦50,000.00');
  // The deposit's row links to its workflow in the Temporal Web UI.
  const link = OP.page.locator('table.entries a.temporal-link').first();
  const href = await link.getAttribute('href');
  assert.ok(href.startsWith(`http://127.0.0.1:8233/namespaces/${encodeURIComponent(process.env.BANK_TEMPORAL_NAMESPACE)}/workflows?query=`), href);
  assert.match(decodeURIComponent(href), /BankReference="dep-[0-9a-f]+"/);
  await audit(OP.page, 'operator account');
  await shot(OP.page, 'console-operator');

  // The toast shows for a few seconds; the balance is redrawn from /me.
  await A.page.locator('.toast', { hasText: /deposit/i }).first().waitFor();
  await balanceShown(A.page, '₦50,000.00');
  await stillMarked(A.page);
  await audit(A.page, 'accounts');
  await shot(A.page, 'console-accounts');
  noFaults();
});

let transfers = 0;
await step('a transfer shows the receiver\'s name before it is confirmed; a double click sends once; the receiver sees it arrive live', async () => {
  await B.page.goto(`${BASE}/console/#/notifications`);
  await B.page.getByRole('heading', { name: 'Notifications' }).waitFor();
  await B.page.locator('li.notification[data-type="ACCOUNT_CREATED"]').waitFor();
  await mark(B.page);
  const unreadBefore = await B.page.evaluate(() => Number(document.getElementById('unread-count')?.textContent || 0));

  A.page.on('request', (r) => { if (r.method() === 'POST' && r.url() === `${BASE}/transfers`) transfers += 1; });
  await A.page.getByRole('link', { name: 'Send money' }).first().click();
  await A.page.getByRole('heading', { name: 'Send money' }).waitFor();
  await A.page.getByLabel("Receiver's account number").fill(chidiAcc);
  await A.page.getByLabel('Amount (₦)').fill('1500.5');
  await A.page.getByLabel('Narration (optional)').fill(XSS);
  await A.page.getByRole('button', { name: 'Continue' }).click();
  const name = A.page.locator('[data-testid="receiver-name"]');
  await name.waitFor();
  assert.equal(await name.textContent(), chidi.fullName, 'name enquiry');
  await audit(A.page, 'transfer review');
  await shot(A.page, 'console-transfer-review');
  assert.equal(transfers, 0, 'nothing is sent before the customer confirms');
  await A.page.getByRole('button', { name: 'Send ₦1,500.50' }).dblclick();
  await A.page.getByRole('heading', { name: 'Sent' }).waitFor();
  assert.equal(transfers, 1, 'a double click sent more than one request');
  await shot(A.page, 'console-transfer-sent');

  const credit = B.page.locator('li.notification[data-type="TRANSFER_CREDIT"]');
  await credit.waitFor();
  await B.page.waitForFunction((n) => Number(document.getElementById('unread-count')?.textContent || 0) > n, unreadBefore);
  await stillMarked(B.page);
  await audit(B.page, 'notifications');
  await shot(B.page, 'console-notifications');
  noFaults();
});

await step('the narration <img src=x onerror=alert(1)> renders as text', async () => {
  await B.page.goto(`${BASE}/console/#/accounts/${chidiAcc}/history`);
  const narration = B.page.locator('table.entries .narration').first();
  await narration.waitFor();
  assert.equal(await narration.textContent(), XSS);
  for (const p of [A, B]) {
    assert.equal(await p.page.locator('img').count(), 0, `${p.name}: an <img> element was created`);
  }
  await audit(B.page, 'history');
  await shot(B.page, 'console-history');
  noFaults();
});

await step('a submission retried after a lost answer moves money once (same Idempotency-Key)', async () => {
  const keys = [];
  let dropped = false;
  await A.page.route(`${BASE}/transfers`, async (route) => {
    keys.push(route.request().headers()['idempotency-key']);
    if (!dropped) {
      dropped = true;
      await route.fetch(); // the bank receives it and moves the money...
      await route.abort('connectionreset'); // ...and the answer is lost on the way back
      return;
    }
    await route.continue();
  });
  await A.page.getByRole('button', { name: 'Send another' }).click();
  await A.page.getByLabel("Receiver's account number").fill(chidiAcc);
  await A.page.getByLabel('Amount (₦)').fill('2000');
  await A.page.getByLabel('Narration (optional)').fill('rent');
  await A.page.getByRole('button', { name: 'Continue' }).click();
  await A.page.getByRole('button', { name: 'Send ₦2,000.00' }).click();
  await A.page.getByText('Retrying is safe').waitFor();
  const replay = A.page.waitForResponse((r) => r.url() === `${BASE}/transfers` && r.request().method() === 'POST');
  await A.page.getByRole('button', { name: 'Retry' }).click();
  const answer = await replay;
  await A.page.getByRole('heading', { name: 'Sent' }).waitFor();
  await A.page.unroute(`${BASE}/transfers`);
  assert.equal(keys.length, 2);
  assert.ok(keys[0] && keys[0] === keys[1], `keys ${keys}`);
  assert.equal(answer.status(), 200, 'the retry is answered as a replay');
  assert.equal(answer.headers()['idempotent-replayed'], 'true');

  const adaToken = await login(ada.email, ada.password);
  const chidiToken = await login(chidi.email, chidi.password);
  assert.equal((await rest('GET', `/accounts/${adaAcc}`, { token: adaToken })).data.balance, '46499.50');
  assert.equal((await rest('GET', `/accounts/${chidiAcc}`, { token: chidiToken })).data.balance, '3500.50');
  const credits = (await rest('GET', `/accounts/${chidiAcc}/transactions?limit=100`, { token: chidiToken })).data.items
    .filter((e) => e.direction === 'CREDIT').map((e) => e.amount).sort();
  assert.deepEqual(credits, ['1500.50', '2000.00'], 'the receiver was credited once per submission');
  await A.page.goto(`${BASE}/console/#/accounts`);
  await balanceShown(A.page, '₦46,499.50');
  noFaults();
});

await step('notifications are marked read and the unread count follows', async () => {
  await B.page.goto(`${BASE}/console/#/notifications`);
  await B.page.locator('li.notification.unread').first().waitFor();
  const before = Number(await B.page.locator('#unread-count').textContent());
  await B.page.locator('li.notification.unread').first().getByRole('button', { name: /Mark as read/ }).click();
  await B.page.waitForFunction((n) => Number(document.getElementById('unread-count')?.textContent || 0) === n - 1, before);
  noFaults();
});

await step('history pages through the cursor, older and back', async () => {
  const opToken = await login(process.env.BANK_OPERATOR_EMAIL, process.env.BANK_OPERATOR_PASSWORD);
  for (let i = 0; i < 11; i++) {
    const r = await rest('POST', `/accounts/${adaAcc}/deposits`, {
      token: opToken, body: { reference: `dep-page-${unique()}-${i}`, amount: `${i + 1}.25`, narration: `top-up ${i + 1}` },
    });
    assert.equal(r.status, 201, JSON.stringify(r.data));
  }
  // 3 entries before, 11 now: pages of 10 and 4.
  await A.page.goto(`${BASE}/console/#/accounts/${adaAcc}/history`);
  await A.page.locator('table.entries caption', { hasText: 'Page 1' }).waitFor();
  assert.equal(await A.page.locator('table.entries tbody tr').count(), 10);
  assert.equal(await A.page.getByRole('button', { name: '← Newer' }).isDisabled(), true);
  await A.page.getByRole('button', { name: 'Older →' }).click();
  await A.page.locator('table.entries caption', { hasText: 'Page 2' }).waitFor();
  assert.equal(await A.page.locator('table.entries tbody tr').count(), 4);
  assert.equal(await A.page.getByRole('button', { name: 'Older →' }).isDisabled(), true);
  await A.page.getByRole('button', { name: '← Newer' }).click();
  await A.page.locator('table.entries caption', { hasText: 'Page 1' }).waitFor();
  assert.equal(await A.page.locator('table.entries tbody tr').first().locator('.narration').textContent(), 'top-up 11');
  noFaults();
});

await step('a tier upgrade: a refused number is shown at its field, a verified one upgrades', async () => {
  await A.page.goto(`${BASE}/console/#/accounts/${adaAcc}/tier`);
  await A.page.getByRole('heading', { name: 'Upgrade tier' }).waitFor();
  await A.page.getByLabel('New tier').selectOption('TIER_2');
  await A.page.getByLabel('Document').selectOption('BVN');
  await A.page.getByLabel('Number').fill(`${digits(7)}0000`); // the mock registry: no match
  await A.page.getByRole('button', { name: 'Upgrade' }).click();
  await A.page.locator('.field[data-field="kyc.number"] .field-error').waitFor();
  await shot(A.page, 'console-tier');
  await A.page.getByLabel('Number').fill(verifiedNumber());
  await A.page.getByRole('button', { name: 'Upgrade' }).click();
  await A.page.getByText('Your account is now on Tier 2.').waitFor();
  await A.page.locator('article.account .tier', { hasText: 'Tier 2' }).waitFor();
  noFaults();
});

await step('signing in works from the keyboard alone, and focus follows the screens', async () => {
  const kb = await person('Ada by keyboard');
  await kb.page.goto(`${BASE}/console/#/sign-in`);
  await kb.page.getByRole('heading', { name: 'Sign in' }).waitFor();
  const focused = () => kb.page.evaluate(() => {
    const el = document.activeElement;
    return el ? `${el.tagName.toLowerCase()}${el.name ? `[name=${el.name}]` : ''}:${(el.textContent || '').trim().slice(0, 40)}` : '';
  });
  assert.equal(await focused(), 'h1:Sign in', 'a new screen puts focus on its heading');
  await kb.page.keyboard.press('Tab');
  assert.match(await focused(), /^input\[name=email\]/);
  await kb.page.keyboard.type(ada.email);
  await kb.page.keyboard.press('Tab');
  await kb.page.keyboard.type(ada.password);
  await kb.page.keyboard.press('Enter');
  await kb.page.getByRole('heading', { name: 'Your accounts' }).waitFor();
  await kb.page.waitForFunction(() => document.activeElement && document.activeElement.tagName === 'H1');
  assert.equal(await focused(), 'h1:Your accounts');
  // From the heading, the next Tab reaches the account's first action.
  await kb.page.keyboard.press('Tab');
  assert.equal(await focused(), 'a:History');
  await kb.page.keyboard.press('Enter');
  await kb.page.getByRole('heading', { name: 'History' }).waitFor();
  await kb.context.close();
  noFaults();
});

await step('on a phone-sized screen nothing scrolls sideways', async () => {
  const phone = await person('Ada on a phone', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await signIn(phone, ada.email, ada.password);
  await phone.page.getByRole('heading', { name: 'Your accounts' }).waitFor();
  for (const [path, file] of [['/accounts', 'console-phone-accounts'], [`/accounts/${adaAcc}/history`, 'console-phone-history'], ['/transfer', null]]) {
    await phone.page.goto(`${BASE}/console/#${path}`);
    await phone.page.locator('main h1').waitFor();
    await phone.page.waitForLoadState('networkidle');
    const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${path} is ${overflow}px wider than the screen`);
    if (file) await shot(phone.page, file);
  }
  await phone.context.close();
  noFaults();
});

await step('the GraphQL playground loads from the bank alone and runs a query', async () => {
  const p = await person('playground');
  const introspected = p.page.waitForResponse((r) => r.url() === `${BASE}/graphql` && r.request().method() === 'POST' && r.status() === 200);
  await p.page.goto(`${BASE}/graphql`);
  await p.page.locator('.graphiql-container').waitFor();
  await introspected;
  const token = await login(chidi.email, chidi.password);
  // Type the token in the Headers tab and one query in the editor (both
  // CodeMirror editors), then run it.
  await p.page.getByText('Headers', { exact: true }).click();
  await p.page.evaluate(({ headers, query }) => {
    document.querySelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror').CodeMirror.setValue(headers);
    document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(query);
  }, {
    headers: JSON.stringify({ Authorization: `Bearer ${token}` }),
    query: 'query Mine { getNotifications(first: 20) { id type title amount } }',
  });
  // GraphiQL reads its editors after a debounce: run until the answer
  // carries the query's data (or the deadline passes).
  let answer = null;
  for (const deadline = Date.now() + 20_000; !answer && Date.now() < deadline;) {
    const ran = p.page.waitForResponse((r) => r.url() === `${BASE}/graphql` && r.request().method() === 'POST'
      && (r.request().postData() || '').includes('getNotifications'), { timeout: 3000 }).catch(() => null);
    await p.page.locator('.graphiql-execute-button').click();
    const resp = await ran;
    const body = resp ? await resp.json() : null;
    if (body && body.data && Array.isArray(body.data.getNotifications)) answer = body;
  }
  assert.ok(answer && answer.data.getNotifications.length >= 2, `the playground's query: ${JSON.stringify(answer)}`);
  await p.page.locator('[aria-label="Result Window"]', { hasText: 'TRANSFER_CREDIT' }).waitFor();
  await shot(p.page, 'graphql-playground');
  const stored = await p.page.evaluate(() => Object.keys(localStorage).filter((k) => /header/i.test(k))
    .map((k) => localStorage.getItem(k)).join(''));
  assert.ok(!stored.includes(token), 'the playground saved the token in localStorage');
  await p.context.close();
  noFaults();
});

await step('signing out forgets the session', async () => {
  await A.page.getByRole('button', { name: 'Sign out' }).click();
  await A.page.getByText('You have signed out.').waitFor();
  await A.page.goto(`${BASE}/console/#/accounts`);
  await A.page.getByRole('heading', { name: 'Sign in' }).waitFor();
  noFaults();
});

console.log(`${passed} passed, 0 failed`);
await shutdown();
