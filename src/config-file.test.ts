import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEnvFile, readConfig } from "./config-file.ts";

/**
 * The rules of systemd.exec(5) "EnvironmentFile=", one case per sentence of the man page, and the
 * cases of systemd's own test-env-file.c: the service (systemd reads the file) and
 * `eft-footprint --env-file` (we read it) must see the same values.
 */
const cases: [string, string, Record<string, string>][] = [
  // "Empty lines, lines without an "=" separator, or lines starting with ";" or "#" will be ignored"
  ["comments with # and ;, empty lines, lines without =", "# a\n; b\n\n  # indented\nNOVALUE\nA=1\n", { A: "1" }],
  // "interior whitespace is preserved": an inline # is not a comment
  ["an inline # is part of the value", "A=abc #def\n", { A: "abc #def" }],
  ["interior whitespace is kept verbatim", "A=a  b\tc\n", { A: "a  b\tc" }],
  // "Leading and trailing whitespace (space, tab, carriage return) is discarded"
  ["leading and trailing whitespace is dropped", "A=  \t value \t \n", { A: "value" }],
  ["whitespace around = and before the name", "  A \t=  b\n", { A: "b" }],
  ["CRLF line ends", "A=1\r\nB=2\r\n", { A: "1", B: "2" }],
  // "quotes after the first non-whitespace character are preserved"
  ["quotes inside an unquoted value are kept", `A=a"b"'c'\n`, { A: `a"b"'c'` }],
  // "A backslash followed by any character other than newline will preserve the following character"
  ["unquoted backslash escapes", "A=a\\\\b\\$c\\ \n", { A: "a\\b$c " }],
  ["an escaped space is not trailing whitespace", "A=x\\ \n", { A: "x " }],
  // "A line ending with a backslash will be continued to the following one"
  ["unquoted continuation line", "A=one\\\ntwo\nB=3\n", { A: "onetwo", B: "3" }],
  // "a '-quoted value … can span multiple lines and contain any character verbatim"
  ["single quotes are verbatim", "A='a\\nb \"c\" #d'\n", { A: 'a\\nb "c" #d' }],
  ["single quotes span lines", "A='line 1\nline 2'\nB=x\n", { A: "line 1\nline 2", B: "x" }],
  ["whitespace outside the quotes is dropped", "A=  ' padded '  \n", { A: " padded " }],
  // a "-quoted value: \" \\ \` \$ are unescaped, other backslashes kept, \<newline> continues
  ["double-quote escapes", 'A="q\\" b\\\\ t\\` d\\$ n\\n x\\x"\n', { A: 'q" b\\ t` d$ n\\n x\\x' }],
  ["double quotes span lines and continue", 'A="one\ntwo\\\nthree"\n', { A: "one\ntwothree" }],
  ["a # after a closing quote is joined, not a comment", 'A="a" # c\n', { A: "a# c" }],
  ["quoted pieces join", "A=\"a\" 'b'\n", { A: "ab" }],
  // Empty values
  ["empty values", "A=\nB=''\nC=\"\"\nD=", { A: "", B: "", C: "", D: "" }],
  ["the last line needs no newline", "A=1", { A: "1" }],
  ["the later of two assignments wins", "A=1\nA=2\n", { A: "2" }],
  // systemd ≥ 254: a comment ending in a backslash does not swallow the next line
  ["a comment's trailing backslash continues nothing", "# x \\\nA=1\n", { A: "1" }],
  // From systemd's test-env-file.c
  [
    "test-env-file.c: continuation lines",
    "a=a\nb=b\\\nc\nd=d\\\ne\\\nf\ng=g\\ \nh=h\ni=i\\",
    { a: "a", b: "bc", d: "def", g: "g ", h: "h", i: "i" },
  ],
  [
    "test-env-file.c: quoted value and comments",
    '# Generated\n\nHWMON_MODULES="coretemp f71882fg"\n\n# For compatibility reasons\n\nMODULE_0=coretemp\nMODULE_1=f71882fg',
    { HWMON_MODULES: "coretemp f71882fg", MODULE_0: "coretemp", MODULE_1: "f71882fg" },
  ],
  [
    "test-env-file.c: escapes unquoted, single- and double-quoted",
    "a=\\ \\n \\t \\x \\y \\' \nb= \\$'                  \nc= ' \\n\\t\\$\\`\\\\\n'   \nd= \" \\n\\t\\$\\`\\\\\n\"   \n",
    { a: " n t x y '", b: "$'", c: " \\n\\t\\$\\`\\\\\n", d: " \\n\\t$`\\\n" },
  ],
];

describe("parseEnvFile reads a file as systemd's EnvironmentFile= does", () => {
  test.each(cases)("%s", (_name, text, values) => {
    expect(parseEnvFile(text)).toEqual({ values, ignored: [] });
  });

  test("a line whose name is not a variable name is ignored and reported (systemd drops it too)", () => {
    expect(parseEnvFile("A=1\nexport B=2\n2C=3\nD-E=4\n")).toEqual({
      values: { A: "1" },
      ignored: [
        { line: 2, name: "export B" },
        { line: 3, name: "2C" },
        { line: 4, name: "D-E" },
      ],
    });
  });

  test("deploy/eft-footprint.env reads as its uncommented settings", () => {
    const template = Bun.file(join(import.meta.dir, "../deploy/eft-footprint.env"));
    return template.text().then((text) =>
      expect(parseEnvFile(text)).toEqual({
        values: { KAFKA_BROKERS: "127.0.0.1:9092", DATABASE_URL: "postgres://eft:change-me@127.0.0.1:5432/eft" },
        ignored: [],
      }),
    );
  });
});

describe("readConfig", () => {
  const withFile = (text: string, run: (path: string) => void) => {
    const dir = mkdtempSync(join(tmpdir(), "eft-env-file-"));
    try {
      writeFileSync(join(dir, "env"), text);
      run(join(dir, "env"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  test("the environment wins over the file", () => {
    withFile("KAFKA_BROKERS=file:9092\nDATABASE_URL=postgres://u@h/db\nTOPIC=from-file\n", (path) => {
      const config = readConfig({ TOPIC: "from-env" }, path);
      expect(config.kafka.topic).toBe("from-env");
      expect(config.kafka.brokers).toEqual(["file:9092"]);
    });
  });

  test("an ignored line of the file becomes a start-up warning naming the line", () => {
    withFile("KAFKA_BROKERS=k:9092\nexport DATABASE_URL=postgres://u@h/db\n", (path) => {
      const config = readConfig({ DATABASE_URL: "postgres://u@h/db" }, path);
      expect(config.warnings).toEqual([
        {
          variable: "export DATABASE_URL",
          message: `${path} line 2: 'export DATABASE_URL' is not a variable name, so this line is ignored (as systemd's EnvironmentFile= does): remove 'export '`,
        },
      ]);
    });
  });

  test("a missing --env-file is a configuration error", () => {
    expect(() => readConfig({}, "/nonexistent/eft-env")).toThrow("--env-file /nonexistent/eft-env: no such file");
  });
});
