import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";

/**
 * The Content-Security-Policy of our pages: scripts, styles and fetches from our own origin only,
 * none inline (the pages link their scripts and stylesheets; the dashboard sets styles through the
 * CSSOM, which CSP allows); images may also be `data:` (the favicon is one); no page may frame us.
 */
const CONTENT_SECURITY_POLICY = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", "data:"],
  connectSrc: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
};

/**
 * Security headers of our own pages and API (everything under the prefix): the CSP above,
 * `X-Frame-Options: DENY` for browsers without frame-ancestors, `Referrer-Policy: no-referrer`
 * (a dashboard URL carries its filters, a login link its token), `X-Content-Type-Options: nosniff`,
 * and Hono's cross-origin isolation headers. Never on the proxied site's answers: its pages are
 * not ours to constrain. No Strict-Transport-Security either: that is the HTTPS front's to send,
 * for the whole host, not ours under a prefix.
 *
 * @example
 * app.use("/_footprint/*", securityHeaders());
 */
export function securityHeaders(): MiddlewareHandler {
  return secureHeaders({
    contentSecurityPolicy: CONTENT_SECURITY_POLICY,
    xFrameOptions: "DENY",
    referrerPolicy: "no-referrer",
    xContentTypeOptions: true,
    strictTransportSecurity: false,
    // Our pages load nothing from elsewhere, and nothing elsewhere should load them.
    crossOriginResourcePolicy: "same-origin",
    crossOriginOpenerPolicy: "same-origin",
    // Legacy headers with no effect in current browsers, left out to keep answers short.
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
    originAgentCluster: false,
  });
}
