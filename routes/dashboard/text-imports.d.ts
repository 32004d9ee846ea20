// Text imports (`with { type: "text" }`) of the dashboard's assets, which Bun embeds in the binary.
// The browser code is JavaScript type-checked on its own (client/tsconfig.json): to the server it
// is text.
declare module "*.css" {
  const text: string;
  export default text;
}
declare module "*.js" {
  const text: string;
  export default text;
}
