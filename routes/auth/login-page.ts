import { FAVICON_LINK } from "../favicon.ts";

export type LoginPageOptions = {
  sessionPath: string;
  /** Where LOGIN_CSS is served: a stylesheet, not inline, so the CSP needs no 'unsafe-inline'. */
  cssPath: string;
  withToken: boolean;
  withPassword: boolean;
  /** Where to go after logging in (already checked to be one of our paths). */
  next: string;
  error?: string | undefined;
};

/** The login page's style, served at `{prefix}/login.css` (no login needed). */
export const LOGIN_CSS = `:root{color-scheme:light dark;--fg:#1d2433;--muted:#5b6475;--bg:#f4f6fa;--card:#fff;--line:#d8dde6;--accent:#2f6fde;--err:#b42318}
@media (prefers-color-scheme:dark){:root{--fg:#e6e9ef;--muted:#9aa3b2;--bg:#12151b;--card:#1b1f27;--line:#2c323d;--accent:#6c9bf5;--err:#f97066}}
*{box-sizing:border-box}body{margin:0;min-height:100vh;display:grid;place-items:center;background:var(--bg);color:var(--fg);font:16px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans",sans-serif}
form{width:min(22rem,calc(100vw - 2rem));background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1.5rem;display:grid;gap:.9rem}
h1{margin:0;font-size:1.25rem}p{margin:0;color:var(--muted);font-size:.9rem}label{display:grid;gap:.3rem;font-size:.9rem;color:var(--muted)}
input{font:inherit;padding:.55rem .7rem;border:1px solid var(--line);border-radius:8px;background:transparent;color:var(--fg)}
button{font:inherit;font-weight:600;padding:.6rem;border:0;border-radius:8px;background:var(--accent);color:#fff;cursor:pointer}
.or{text-align:center;font-size:.8rem}.error{color:var(--err);font-weight:600}
`;

/** The login form: plain HTML that posts a form, so it works without JavaScript. */
export function renderLoginPage(o: LoginPageOptions): string {
  const fields: string[] = [];
  if (o.withPassword) {
    fields.push(`<label>User<input name="user" autofocus autocomplete="username" autocapitalize="none" spellcheck="false"></label>
<label>Password<input name="password" type="password" autocomplete="current-password"></label>`);
  }
  if (o.withToken) {
    fields.push(
      `<label>Access token<input name="token" type="password" autocomplete="off" spellcheck="false"${o.withPassword ? "" : " autofocus"}></label>`,
    );
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>Log in · eft-footprint</title>
${FAVICON_LINK}
<link rel="stylesheet" href="${escapeHtml(o.cssPath)}"></head><body><main>
<form method="post" action="${escapeHtml(o.sessionPath)}">
<h1>eft-footprint</h1><p>Log in to see the traffic statistics.</p>
${o.error ? `<p class="error" role="alert">${escapeHtml(o.error)}</p>` : ""}
${fields.join('\n<p class="or">or</p>\n')}
<input type="hidden" name="next" value="${escapeHtml(o.next)}">
<button type="submit">Log in</button>
</form></main></body></html>`;
}

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] as string,
  );
}
