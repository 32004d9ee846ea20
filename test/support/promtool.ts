/** `promtool check metrics` on a text: its complaints, one a line (none when clean). */
export function promtoolProblems(text: string): string[] {
  const promtool = Bun.which("promtool");
  if (!promtool) throw new Error("promtool is missing: run scripts/install-deploy-tools (Debian's prometheus package)");
  const run = Bun.spawnSync([promtool, "check", "metrics"], { stdin: new TextEncoder().encode(text) });
  const problems = `${run.stdout.toString()}${run.stderr.toString()}`.trim();
  if (run.exitCode !== 0 && problems === "") throw new Error(`promtool exited with ${run.exitCode}`);
  return problems === "" ? [] : problems.split("\n");
}
