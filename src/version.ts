// Replaced at build time by compile.sh (bun build --define); these are the values when run from source.
declare const EFT_VERSION: string | undefined;
declare const EFT_COMMIT: string | undefined;

export const version: string = typeof EFT_VERSION === "string" ? EFT_VERSION : "0.0.0-dev";
export const commit: string = typeof EFT_COMMIT === "string" ? EFT_COMMIT : "unknown";
