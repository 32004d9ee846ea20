export { type AccountFailures, createPostgresAccountFailures } from "./account-failures.ts";
export { authRoutes } from "./auth-routes.ts";
export { type Credentials, matchesCredentials, resolveCredentials } from "./credentials.ts";
export type { AuthOptions } from "./options.ts";
export { requireLogin } from "./require-login.ts";
export { createSessionSigner, SESSION_COOKIE } from "./session.ts";
export { createMemorySessionStore, createPostgresSessionStore, type SessionStore } from "./session-store.ts";
