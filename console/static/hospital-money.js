// Money at the cashier: the bill says yuan, the API counts cents. Both ways by the digits, never
// through a float, so "1234.50" is exactly 123450 and 123450 is exactly "1234.50".

const LARGEST_CENTS = 100_000_000; // the API's largest fee (one million yuan)

/** "1234.50" (or "1234.5", "1234", "1,234.50", full-width digits) → 123450; null if not money. */
export function centsOf(text) {
  const plain = String(text)
    .normalize("NFKC")
    .replace(/[\s,，]/g, "")
    .replace(/^[¥￥]/, "");
  const match = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(plain);
  if (!match) return null;
  const cents = Number(match[1]) * 100 + Number((match[2] ?? "").padEnd(2, "0"));
  return cents >= 1 && cents <= LARGEST_CENTS ? cents : null;
}

/** 123450 → "1234.50" */
export function yuanOf(cents) {
  const whole = Math.trunc(cents / 100);
  const rest = Math.abs(cents % 100);
  return `${whole}.${String(rest).padStart(2, "0")}`;
}
