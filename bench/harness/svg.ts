/**
 * A small line chart as SVG text, no dependencies: stacked panels sharing a logarithmic x axis
 * (target counts), each with its own y axis, series drawn as lines with dots, and an optional
 * dashed bar line per panel.
 */

export interface Series {
  label: string;
  color: string;
  points: Array<{ x: number; y: number }>;
}

export interface Panel {
  title: string;
  unit: string;
  series: Series[];
  /** A horizontal dashed line: the bar. */
  bar?: { y: number; label: string };
  /** The y axis ends here at most; higher points sit on the top edge, labelled with their value. */
  clampAt?: number;
}

const WIDTH = 720;
const PANEL_HEIGHT = 220;
const MARGIN = { left: 70, right: 170, top: 34, bottom: 40 };

export function lineChart(title: string, xLabel: string, panels: Panel[]): string {
  const allX = panels.flatMap((panel) => panel.series.flatMap((series) => series.points.map((point) => point.x))).filter((x) => x > 0);
  const xMin = Math.min(...allX);
  const xMax = Math.max(...allX, xMin * 10);
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const logX = (x: number) => MARGIN.left + (plotWidth * (Math.log10(x) - Math.log10(xMin))) / (Math.log10(xMax) - Math.log10(xMin) || 1);
  const height = 30 + panels.length * (PANEL_HEIGHT + MARGIN.top + MARGIN.bottom);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${escape(title)}</text>`,
  ];
  panels.forEach((panel, index) => {
    const top = 30 + index * (PANEL_HEIGHT + MARGIN.top + MARGIN.bottom) + MARGIN.top;
    parts.push(...drawPanel(panel, top, logX, allX, xLabel));
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function drawPanel(panel: Panel, top: number, logX: (x: number) => number, allX: number[], xLabel: string): string[] {
  const values = panel.series.flatMap((series) => series.points.map((point) => point.y)).filter(Number.isFinite);
  const yMax = Math.min(niceCeiling(Math.max(...values, panel.bar?.y ?? 0, 1e-9) * 1.1), panel.clampAt ?? Infinity);
  const bottom = top + PANEL_HEIGHT;
  const y = (value: number) => bottom - (PANEL_HEIGHT * Math.min(value, yMax)) / yMax;
  const right = WIDTH - MARGIN.right;
  const out = [
    `<text x="${MARGIN.left}" y="${top - 10}" font-weight="bold">${escape(panel.title)} (${escape(panel.unit)})</text>`,
    `<line x1="${MARGIN.left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="black"/>`,
    `<line x1="${MARGIN.left}" y1="${top}" x2="${MARGIN.left}" y2="${bottom}" stroke="black"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const value = (yMax * i) / 4;
    out.push(`<line x1="${MARGIN.left}" y1="${y(value)}" x2="${right}" y2="${y(value)}" stroke="#ddd"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${y(value) + 4}" text-anchor="end">${formatTick(value)}</text>`);
  }
  for (const x of [...new Set(allX)].sort((a, b) => a - b)) {
    out.push(`<line x1="${logX(x)}" y1="${bottom}" x2="${logX(x)}" y2="${bottom + 4}" stroke="black"/>`);
    out.push(`<text x="${logX(x)}" y="${bottom + 17}" text-anchor="middle">${formatCount(x)}</text>`);
  }
  out.push(`<text x="${(MARGIN.left + right) / 2}" y="${bottom + 34}" text-anchor="middle">${escape(xLabel)}</text>`);
  if (panel.bar) {
    out.push(`<line x1="${MARGIN.left}" y1="${y(panel.bar.y)}" x2="${right}" y2="${y(panel.bar.y)}" stroke="#c00" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${right + 6}" y="${y(panel.bar.y) + 4}" fill="#c00">${escape(panel.bar.label)}</text>`);
  }
  panel.series.forEach((series, index) => {
    const points = series.points.filter((point) => Number.isFinite(point.y) && point.x > 0).sort((a, b) => a.x - b.x);
    if (points.length > 1) out.push(`<polyline fill="none" stroke="${series.color}" stroke-width="2" points="${points.map((p) => `${logX(p.x).toFixed(1)},${y(p.y).toFixed(1)}`).join(' ')}"/>`);
    for (const point of points) {
      out.push(`<circle cx="${logX(point.x).toFixed(1)}" cy="${y(point.y).toFixed(1)}" r="3.5" fill="${series.color}"/>`);
      if (point.y > yMax) out.push(`<text x="${logX(point.x) - 6}" y="${top - 2 + index * 12}" text-anchor="end" fill="${series.color}">↑ ${formatTick(point.y)}</text>`);
    }
    out.push(`<rect x="${right + 6}" y="${top + 10 + index * 18}" width="12" height="3" fill="${series.color}"/>`);
    out.push(`<text x="${right + 22}" y="${top + 15 + index * 18}">${escape(series.label)}</text>`);
  });
  return out;
}

function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function formatTick(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 1 ? value.toFixed(1) : value.toPrecision(2);
}

function formatCount(x: number): string {
  return x >= 1000 ? `${x / 1000}k` : String(x);
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
