/** A bar chart of time per operation, Pulumi against kubectl, as SVG rendered to PNG (resvg). */
import * as fs from "fs";
import { Resvg } from "@resvg/resvg-js";

export interface Bar {
    label: string;
    pulumi: number;
    kubectl: number;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

export function writePlot(file: string, bars: Bar[], title: string): void {
    const width = 900;
    const rowH = 56;
    const left = 150;
    const top = 60;
    const right = 120;
    const height = top + bars.length * rowH + 50;
    const max = Math.max(...bars.flatMap((b) => [b.pulumi, b.kubectl]), 0.001);
    const scale = (width - left - right) / max;
    const parts: string[] = [
        `<rect width="${width}" height="${height}" fill="white"/>`,
        `<text x="${width / 2}" y="28" text-anchor="middle" font-size="18" font-weight="bold">${esc(title)}</text>`,
        `<rect x="${left}" y="38" width="14" height="10" fill="#7b42bc"/><text x="${left + 20}" y="48" font-size="13">pulumi</text>`,
        `<rect x="${left + 90}" y="38" width="14" height="10" fill="#326ce5"/><text x="${left + 110}" y="48" font-size="13">kubectl</text>`,
    ];
    bars.forEach((b, i) => {
        const y = top + i * rowH;
        parts.push(`<text x="${left - 10}" y="${y + 26}" text-anchor="end" font-size="14">${esc(b.label)}</text>`);
        for (const [j, [v, color]] of ([[b.pulumi, "#7b42bc"], [b.kubectl, "#326ce5"]] as const).entries()) {
            const by = y + 6 + j * 22;
            parts.push(`<rect x="${left}" y="${by}" width="${Math.max(1, v * scale)}" height="18" fill="${color}"/>`);
            parts.push(`<text x="${left + Math.max(1, v * scale) + 6}" y="${by + 14}" font-size="12">${v.toFixed(2)} s</text>`);
        }
        const ratio = b.kubectl > 0 ? b.pulumi / b.kubectl : NaN;
        parts.push(`<text x="${width - 10}" y="${y + 26}" text-anchor="end" font-size="13" fill="#444">×${ratio.toFixed(1)}</text>`);
    });
    parts.push(`<text x="${left}" y="${height - 16}" font-size="12" fill="#444">median wall time in seconds; right: pulumi / kubectl</text>`);
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, sans-serif">${parts.join("")}</svg>`;
    fs.writeFileSync(file, new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" } }).render().asPng());
}
