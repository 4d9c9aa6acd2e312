// Money on the wire is a decimal string in naira ("1500.50"); it is shown
// and compared by string and BigInt arithmetic only, never through a
// JavaScript number (a float: 0.1 + 0.2 !== 0.3).

const WIRE = /^(-?)(\d+)(?:\.(\d{1,2}))?$/;

// formatNaira("1500.5") → "₦1,500.50"; "-20" → "−₦20.00". A value that is
// not a decimal string is shown as it came, never guessed at.
export function formatNaira(value) {
  if (value === null || value === undefined) return '';
  const m = WIRE.exec(String(value));
  if (!m) return String(value);
  const [, sign, whole, frac = ''] = m;
  const grouped = whole.replace(/^0+(?=\d)/, '').replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const out = `₦${grouped}.${frac.padEnd(2, '0')}`;
  return sign ? `−${out}` : out;
}

// formatLimit shows a tier limit; null means unlimited.
export function formatLimit(value) {
  return value === null || value === undefined ? 'Unlimited' : formatNaira(value);
}

// AMOUNT is what the API accepts for an amount: digits, at most two decimals.
const AMOUNT = /^\d{1,16}(?:\.\d{1,2})?$/;

// parseAmount reads what a person typed ("1,500.5", " 1500 ") and returns
// the wire string ("1500.5") or null when it is not a positive amount with
// at most two decimals.
export function parseAmount(typed) {
  const s = String(typed || '').trim().replace(/,/g, '').replace(/^₦/, '');
  if (!AMOUNT.test(s)) return null;
  if (toKobo(s) === 0n) return null;
  return s;
}

// toKobo("1500.5") → 150050n. Exact for any wire amount.
export function toKobo(value) {
  const m = WIRE.exec(String(value));
  if (!m) throw new Error(`not an amount: ${value}`);
  const [, sign, whole, frac = ''] = m;
  const kobo = BigInt(whole) * 100n + BigInt(frac.padEnd(2, '0'));
  return sign ? -kobo : kobo;
}
