// The filter-level matrix's styles, part of every page's one style sheet (no other files are served).

/** The matrix's own styles: colour and word per action, sticky header, cards on a phone. */
export const MATRIX_STYLE = `
main:has(.matrix){max-width:80rem}
.matrix{border-collapse:separate;border-spacing:0;width:100%}
.matrix th,.matrix td{padding:.2rem .4rem;border-bottom:1px solid #ccc}
.matrix thead th{position:sticky;top:0;z-index:2;background:#0b3d5c;color:#fff;vertical-align:bottom}
.matrix thead .note{color:#e6eef5}
.matrix tr.section th{background:#eef1f4;font-size:1.05rem;padding-top:.6rem}
.matrix tr.section small{font-weight:normal;color:#444}
.matrix th[scope=row]{font-weight:normal}.matrix th[scope=row] code{font-size:.8rem;color:#555}
.matrix td{border-left:5px solid transparent}
.matrix .note{display:block;font-size:.8rem;color:#333}
.matrix .g{display:none}
.matrix select{padding:.1rem .3rem;font-size:.95rem;background:#fff}
.matrix .a-allow{background:#e3f4e8;border-left-color:#1e7b34}
.matrix .a-warn{background:#fff3cc;border-left-color:#a86b00}
.matrix .a-block{background:#fbe3e3;border-left-color:#b00020}
.matrix td:has(option[value=allow]:checked){background:#e3f4e8;border-left-color:#1e7b34}
.matrix td:has(option[value=warn]:checked){background:#fff3cc;border-left-color:#a86b00}
.matrix td:has(option[value=block]:checked){background:#fbe3e3;border-left-color:#b00020}
.matrix .changed{outline:2px dashed #0b3d5c;outline-offset:-3px}
.matrix thead th:first-child{width:40%}
.matrix .locked{font-style:normal}.matrix .locked .act{font-size:.9rem;white-space:nowrap}
.matrix .act{font-weight:600}
.matrix-filter a[aria-current]{font-weight:700;color:#1b1b1b;text-decoration:none}
@media (max-width:40rem){
.matrix thead{display:none}
.matrix,.matrix tbody,.matrix tr,.matrix th,.matrix td{display:block;width:auto}
.matrix tr{display:grid;grid-template-columns:1fr 1fr;gap:.25rem;padding:.4rem 0;border-bottom:1px solid #ccc}
.matrix tr>th{grid-column:1/-1;border:0}
.matrix tr.section{position:sticky;top:0;z-index:2}
.matrix td{border-bottom:0;border-left-width:5px}
.matrix .g{display:block;font-size:.85rem;color:#333}
}`;
