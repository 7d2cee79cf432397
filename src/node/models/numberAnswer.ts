/**
 * Number answers: the first number in the answer, read as an exact decimal (never a binary float:
 * 2.675 is 2.67499… as a double and would round down), checked against [min, max] and written with
 * exactly `decimals` decimals, rounded half away from zero, without exponent and without "-0".
 *
 * A number whose reading is not certain is refused rather than guessed: one glued to a letter or a
 * digit ("12k", "0x1F", "A4", "COVID-19") or followed by a separator and more digits ("1,000",
 * "1 000", "1.2.3"), where taking the digits alone would commit a value the model did not say.
 */
import type { ConstraintProblem, NormalizedAnswer } from "./answerConstraint.js";

export interface NumberConstraint {
  min: number;
  max: number;
  decimals: number;
}

/** ±coefficient × 10^exponent; the coefficient has no trailing zeros, and zero is 0 × 10^0. */
interface Decimal {
  negative: boolean;
  coefficient: bigint;
  exponent: number;
}

/** No honest answer needs more; it bounds the BigInt work an answer can cause. */
const MAX_SIGNIFICANT_DIGITS = 100;
/** Above 10^330 a value is past any finite min or max (doubles end near 1.8e308). */
const MAX_ORDER = 330;
/**
 * Below 10^-40 a value is closer to 0 than any min, max or output step (10^-18 at the finest), so
 * it stands in as ±10^-60: the same sign, the same comparisons, the same rounding, and small BigInts.
 */
const MIN_ORDER = -40;
const TINY_EXPONENT = -60;

const SIGNS = new Set(["-", "+", "\u2212"]);
/** Digits, an optional fraction and exponent, from the start of the text it is given. */
const LEADING_NUMBER = /^(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?/;
const WORD_CHAR = /[\p{L}\p{N}_]/u;
const DIGIT = /[0-9]/;
/** What writes 1000 as "1,000", "1.000", "1'000" or "1 000" (also with a no-break or thin space). */
const DIGIT_GROUP_SEPARATORS = new Set([".", ",", "'", " ", "\u00a0", "\u2009", "\u202f"]);

export function checkNumberConstraint(constraint: NumberConstraint): ConstraintProblem[] {
  const { min, max, decimals } = constraint;
  const problems: ConstraintProblem[] = [];
  if (min > max) problems.push({ path: ["max"], message: `max ${max} is below min ${min}` });
  for (const [field, value] of [
    ["min", min],
    ["max", max],
  ] as const) {
    if (!onGrid(decimalOf(String(value)), decimals)) {
      problems.push({
        path: [field],
        message: `${field} ${value} has more than ${decimals} decimals: answers are written with exactly "decimals" decimals, so min and max must be too`,
      });
    }
  }
  return problems;
}

export function normalizeNumberAnswer(constraint: NumberConstraint, text: string): NormalizedAnswer {
  const found = firstNumber(text);
  if (!found.ok) return found;
  const { value } = found;
  const { min, max, decimals } = constraint;
  if (compare(value, decimalOf(String(min))) < 0) {
    return { ok: false, reason: `the number is below the minimum ${min}` };
  }
  if (compare(value, decimalOf(String(max))) > 0) {
    return { ok: false, reason: `the number is above the maximum ${max}` };
  }
  return { ok: true, output: formatRounded(value, decimals) };
}

function firstNumber(text: string): { ok: true; value: Decimal } | { ok: false; reason: string } {
  let start = 0;
  while (start < text.length && !startsNumber(text, start)) start++;
  if (start === text.length) return { ok: false, reason: "the answer holds no number" };
  const signChar = text.charAt(start - 1);
  const signed = start > 0 && SIGNS.has(signChar);
  const before = text.charAt(signed ? start - 2 : start - 1);
  const match = LEADING_NUMBER.exec(text.slice(start));
  if (match === null) return { ok: false, reason: "the answer holds no number" };
  const end = start + match[0].length;
  const after = text.charAt(end);
  const glued =
    (before !== "" && (WORD_CHAR.test(before) || SIGNS.has(before) || before === "." || before === ",")) ||
    WORD_CHAR.test(after) ||
    (DIGIT_GROUP_SEPARATORS.has(after) && DIGIT.test(text.charAt(end + 1)));
  if (glued) {
    return {
      ok: false,
      reason: "the first number in the answer is glued to a letter, sign, digit or separator",
    };
  }
  const [, whole = "", fraction = "", exponent] = match;
  const negative = signed && signChar !== "+";
  const value = decimalFrom(negative, whole + fraction, exponentValue(exponent) - fraction.length);
  if (value === undefined) {
    return { ok: false, reason: `the number has more than ${MAX_SIGNIFICANT_DIGITS} significant digits` };
  }
  return { ok: true, value };
}

function startsNumber(text: string, index: number): boolean {
  const char = text.charAt(index);
  return DIGIT.test(char) || (char === "." && DIGIT.test(text.charAt(index + 1)));
}

/** An exponent too large for a double is past every bound anyway: clamp it to one that is. */
function exponentValue(text: string | undefined): number {
  if (text === undefined) return 0;
  const value = Number(text);
  return Math.max(-1e9, Math.min(1e9, value));
}

/** `digits` × 10^exponent, normalized; undefined when it has too many significant digits. */
function decimalFrom(negative: boolean, digits: string, exponent: number): Decimal | undefined {
  let first = 0;
  while (first < digits.length && digits.charAt(first) === "0") first++;
  let last = digits.length;
  while (last > first && digits.charAt(last - 1) === "0") last--;
  if (first === last) return { negative: false, coefficient: 0n, exponent: 0 };
  const significant = digits.slice(first, last);
  if (significant.length > MAX_SIGNIFICANT_DIGITS) return undefined;
  const scaledExponent = exponent + (digits.length - last);
  const order = significant.length + scaledExponent;
  if (order > MAX_ORDER) return { negative, coefficient: 1n, exponent: MAX_ORDER + 1 };
  if (order < MIN_ORDER) return { negative, coefficient: 1n, exponent: TINY_EXPONENT };
  return { negative, coefficient: BigInt(significant), exponent: scaledExponent };
}

/** A bound from the config: a finite double, whose String() is a plain or exponent decimal. */
function decimalOf(text: string): Decimal {
  const negative = text.startsWith("-");
  const unsigned = negative ? text.slice(1) : text;
  const [, whole = "", fraction = "", exponent] = LEADING_NUMBER.exec(unsigned) ?? [];
  const value = decimalFrom(negative, whole + fraction, exponentValue(exponent) - fraction.length);
  if (value === undefined) throw new RangeError(`decimalOf: ${text} is not a double's decimal`);
  return value;
}

function onGrid(value: Decimal, decimals: number): boolean {
  return value.coefficient === 0n || value.exponent >= -decimals;
}

function compare(a: Decimal, b: Decimal): number {
  const exponent = Math.min(a.exponent, b.exponent);
  const left = signedAt(a, exponent);
  const right = signedAt(b, exponent);
  return left < right ? -1 : left > right ? 1 : 0;
}

function signedAt(value: Decimal, exponent: number): bigint {
  const magnitude = value.coefficient * 10n ** BigInt(value.exponent - exponent);
  return value.negative ? -magnitude : magnitude;
}

function formatRounded(value: Decimal, decimals: number): string {
  const shift = value.exponent + decimals;
  let magnitude: bigint;
  if (shift >= 0) {
    magnitude = value.coefficient * 10n ** BigInt(shift);
  } else {
    const divisor = 10n ** BigInt(-shift);
    magnitude = value.coefficient / divisor;
    if ((value.coefficient % divisor) * 2n >= divisor) magnitude += 1n;
  }
  const digits = magnitude.toString().padStart(decimals + 1, "0");
  const sign = value.negative && magnitude !== 0n ? "-" : "";
  if (decimals === 0) return sign + digits;
  return `${sign}${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
}
