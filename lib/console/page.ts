/**
 * The console's page shell: one inline stylesheet and one inline script, both allowed by their SHA-256
 * in a strict Content-Security-Policy (nothing else loads: no CDN, no other origin, no inline handlers).
 * Every page works without JavaScript; the script only adds conveniences (provider fields shown one at a
 * time, Copy, the namespace filter applying on change).
 */
import { createHash } from 'node:crypto';
import { markup, raw, type Html } from './html.js';

const CSS = `
:root{--fg:#1d2330;--muted:#5b6577;--line:#d9dee7;--bg:#f6f7fa;--ok:#1a7f37;--bad:#c62828;--unk:#8a94a6;--accent:#1f5fbf}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 "DejaVu Sans",system-ui,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#14213d;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:center}
header a{color:#fff;text-decoration:none;font-weight:600}
header nav a{font-weight:400;margin-right:16px}
main{padding:16px 24px;max-width:1400px}
h1{font-size:20px;margin:8px 0 16px}
h2{font-size:16px;margin:24px 0 8px}
a{color:var(--accent)}
a:focus,button:focus,input:focus,select:focus,textarea:focus,summary:focus,label:focus-within{outline:3px solid #ffb703;outline-offset:1px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line)}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#eef1f6;font-weight:600;white-space:nowrap}
th a{color:var(--fg);text-decoration:none}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.phase{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;font-size:12px}
.phase.Ready{background:#dcf5e3;color:var(--ok)}
.phase.NotReady{background:#fde2e1;color:var(--bad)}
.reason{color:var(--bad);font-size:12px}
.muted{color:var(--muted)}
.bar{display:inline-flex;gap:1px;vertical-align:middle}
.bar i{display:inline-block;width:4px;height:14px;background:var(--unk)}
.bar i.Ready{background:var(--ok)}
.bar i.NotReady{background:var(--bad)}
.toolbar{display:flex;gap:12px;align-items:end;margin-bottom:12px;flex-wrap:wrap}
.toolbar .spacer{flex:1}
label{display:block;font-weight:600;margin-bottom:2px}
input,select,textarea{font:inherit;padding:5px 8px;border:1px solid #b7c0cf;border-radius:4px;background:#fff;min-width:220px}
textarea{width:100%;min-height:64px}
button,.button{font:inherit;padding:6px 14px;border-radius:4px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary,.button.secondary{background:#fff;color:var(--accent)}
dl.basic{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;background:#fff;border:1px solid var(--line);padding:12px 16px;margin:0}
dl.basic dt{font-weight:600}
dl.basic dd{margin:0}
.kv{display:inline-block;background:#eef1f6;border-radius:3px;padding:0 6px;margin:0 4px 2px 0;font-size:12px}
.pager{margin-top:10px;display:flex;gap:12px;align-items:center}
ol.timeline{list-style:none;padding:0;margin:0;background:#fff;border:1px solid var(--line)}
ol.timeline li{padding:6px 12px;border-bottom:1px solid var(--line)}
fieldset{border:1px solid var(--line);background:#fff;margin:0 0 12px;padding:8px 16px 12px}
legend{font-weight:600;padding:0 4px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:10px 16px}
.hint{font-size:12px;color:var(--muted);font-weight:400}
.js fieldset.provider:not(.selected){display:none}
.preview pre{background:#0f172a;color:#e2e8f0;padding:12px;overflow:auto;margin:0 0 8px;border-radius:4px}
.preview .format{position:absolute;opacity:0;width:1px;height:1px;margin:0;pointer-events:none}
.preview .yaml,.preview .json{display:none}
#format-yaml:checked~.yaml,#format-json:checked~.json{display:block}
.preview .tabs label{display:inline-block;border:1px solid var(--accent);padding:3px 12px;margin-right:-1px;cursor:pointer;color:var(--accent);background:#fff}
#format-yaml:focus~.tabs label[for=format-yaml],#format-json:focus~.tabs label[for=format-json]{outline:3px solid #ffb703}
#format-yaml:checked~.tabs label[for=format-yaml],#format-json:checked~.tabs label[for=format-json]{background:var(--accent);color:#fff}
.result{background:#fff;border:1px solid var(--line);padding:8px 16px;margin-bottom:12px}
.error{background:#fde2e1;border:1px solid var(--bad);padding:8px 16px;margin-bottom:12px}
.actions{display:flex;gap:10px;margin-top:8px}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
`;

const SCRIPT = `
document.documentElement.classList.add('js');
var provider = document.getElementById('provider');
function showProvider() {
  document.querySelectorAll('fieldset.provider').forEach(function (f) {
    f.classList.toggle('selected', f.dataset.provider === provider.value);
  });
}
if (provider) { provider.addEventListener('change', showProvider); showProvider(); }
var ns = document.getElementById('namespace-filter');
if (ns) ns.addEventListener('change', function () { ns.form.submit(); });
document.querySelectorAll('button[data-copy]').forEach(function (button) {
  button.addEventListener('click', function (event) {
    event.preventDefault();
    var format = document.querySelector('input[name=format]:checked');
    var id = button.dataset.copy.replace('{format}', format ? format.value : 'yaml');
    var text = document.getElementById(id).textContent;
    text = text.replace(/"\\$([A-Z0-9_]+)"/g, function (all, key) {
      var input = document.querySelector('[name="auth.' + key + '"]');
      return input && input.value ? "'" + input.value.replace(/'/g, "'\\\\''") + "'" : all;
    });
    navigator.clipboard.writeText(text).then(function () {
      button.textContent = 'Copied';
      setTimeout(function () { button.textContent = 'Copy'; }, 1500);
    });
  });
});
`;

// Whole tags, so no formatting of the page template can change the hashed text.
const STYLE_TAG = `<style>${CSS}</style>`;
const SCRIPT_TAG = `<script>${SCRIPT}</script>`;

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/** The policy every console page is served with. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src ${sha256(CSS)}`,
  `script-src ${sha256(SCRIPT)}`,
  "img-src 'self' data:",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const PAGE_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export interface PageOptions {
  title: string;
  /** Shown in the footer: which store and who is looking. */
  footer?: string;
}

export function page(options: PageOptions, body: Html): string {
  return markup`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${options.title} · BackupStorage console</title>
        ${raw(STYLE_TAG)}
      </head>
      <body>
        <header>
          <a href="/console">BackupStorage console</a>
          <nav aria-label="Main">
            <a href="/console">BackupStorages</a><a href="/console/new">Create New Instance</a>
          </nav>
        </header>
        <main id="main">${body}</main>
        ${options.footer ? markup`<footer class="muted"><main>${options.footer}</main></footer>` : ''}
        ${raw(SCRIPT_TAG)}
      </body>
    </html> `.text;
}
