/**
 * A tiny element builder. Everything from the chain (inputs, outputs, metadata) is user-controlled, so
 * it only ever reaches the page as text nodes, never as HTML.
 */
type Child = Node | string | number | bigint | null | undefined | false;
type Attributes = Record<string, string | undefined | ((event: Event) => void)>;

export function h(tag: string, attributes: Attributes = {}, ...children: Child[]): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === "function") element.addEventListener(name, value);
    else if (value !== undefined) element.setAttribute(name, value);
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** A definition list of label → value rows. */
export function facts(rows: Array<[string, Child]>): HTMLElement {
  return h(
    "dl",
    { class: "facts" },
    ...rows.flatMap(([label, value]) => [h("dt", {}, label), h("dd", {}, value)]),
  );
}

export function short(hex: string, keep = 6): string {
  return hex.length > 2 * keep + 4 ? `${hex.slice(0, keep + 2)}…${hex.slice(-keep)}` : hex;
}

const UNITS: Array<[number, string]> = [
  [86_400, "d"],
  [3_600, "h"],
  [60, "min"],
  [1, "s"],
];

export function duration(seconds: number): string {
  for (const [size, unit] of UNITS) if (seconds >= size) return `${Math.floor(seconds / size)} ${unit}`;
  return "0 s";
}

/** Wei as ETH with up to 6 decimals. */
export function eth(wei: bigint): string {
  const whole = wei / 10n ** 18n;
  const fraction = (wei % 10n ** 18n).toString().padStart(18, "0").slice(0, 6).replace(/0+$/, "");
  return `${whole}${fraction ? `.${fraction}` : ""} ETH`;
}
