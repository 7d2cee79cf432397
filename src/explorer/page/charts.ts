/** Small SVG charts drawn from data already on the page: no chart library, nothing fetched. */
const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 480;
const HEIGHT = 200;
const PAD = 36;

export interface Series {
  label: string;
  points: Array<[number, number]>;
}

const COLOURS = ["#2563eb", "#db2777", "#16a34a", "#ea580c", "#7c3aed", "#0891b2"];

function svg(tag: string, attributes: Record<string, string | number>, text?: string): SVGElement {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** Points (or bars) of each series on shared axes; `kind` picks dots or bars. */
export function chart(options: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  kind: "dots" | "bars";
  formatX?: (x: number) => string;
}): HTMLElement {
  const figure = document.createElement("figure");
  figure.className = "chart";
  const caption = document.createElement("figcaption");
  caption.textContent = options.title;
  figure.append(caption);
  const all = options.series.flatMap((series) => series.points);
  if (all.length === 0) {
    const empty = document.createElement("p");
    empty.className = "muted";
    empty.textContent = "No data yet.";
    figure.append(empty);
    return figure;
  }
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  const yMax = Math.max(...ys, 1);
  const x = (value: number) => PAD + ((value - xMin) / (xMax - xMin || 1)) * (WIDTH - 2 * PAD);
  const y = (value: number) => HEIGHT - PAD - (value / yMax) * (HEIGHT - 2 * PAD);
  const root = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": options.title });
  root.append(
    svg("line", { x1: PAD, y1: HEIGHT - PAD, x2: WIDTH - PAD, y2: HEIGHT - PAD, class: "axis" }),
    svg("line", { x1: PAD, y1: PAD, x2: PAD, y2: HEIGHT - PAD, class: "axis" }),
    svg("text", { x: 4, y: PAD - 8, class: "tick" }, `${options.yLabel} (max ${round(yMax)})`),
    svg("text", { x: WIDTH - PAD, y: HEIGHT - 8, class: "tick", "text-anchor": "end" }, options.xLabel),
    svg("text", { x: PAD, y: HEIGHT - PAD + 14, class: "tick" }, (options.formatX ?? round)(xMin)),
    svg(
      "text",
      { x: WIDTH - PAD, y: HEIGHT - PAD + 14, class: "tick", "text-anchor": "end" },
      (options.formatX ?? round)(xMax),
    ),
  );
  const barWidth = Math.max(4, (WIDTH - 2 * PAD) / Math.max(all.length, 1) / 2);
  options.series.forEach((series, index) => {
    const colour = COLOURS[index % COLOURS.length] as string;
    for (const [px, py] of series.points) {
      const title = svg("title", {}, `${series.label}: ${(options.formatX ?? round)(px)} → ${round(py)}`);
      const mark =
        options.kind === "dots"
          ? svg("circle", { cx: x(px), cy: y(py), r: 4, fill: colour })
          : svg("rect", {
              x: x(px) - barWidth / 2 + index * 3,
              y: y(py),
              width: barWidth,
              height: HEIGHT - PAD - y(py),
              fill: colour,
            });
      mark.append(title);
      root.append(mark);
    }
  });
  figure.append(root);
  const legend = document.createElement("p");
  legend.className = "legend";
  options.series.forEach((series, index) => {
    const item = document.createElement("span");
    item.style.color = COLOURS[index % COLOURS.length] as string;
    item.textContent = `● ${series.label} `;
    legend.append(item);
  });
  figure.append(legend);
  return figure;
}

function round(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}
