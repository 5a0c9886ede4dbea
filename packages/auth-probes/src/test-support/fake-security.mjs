#!/usr/bin/env node
// A stand-in for macOS `security`, for tests on machines without a Keychain. Items live in the JSON
// file $FAKE_SECURITY_STORE; every call is appended to $FAKE_SECURITY_LOG as {argv, stdin}, so a
// test can prove what reached the process list (argv) and what only travelled on stdin.
// Understands what sbx and Claude Code use: find-generic-password [-a A] -s S [-w],
// add-generic-password [-U] -a A -s S (-w P | -X HEX), and -i (those commands read from stdin).
// Like the real one, `-w` prints the password as hex when it holds a byte outside printable ASCII.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";

const storePath = process.env.FAKE_SECURITY_STORE;
const logPath = process.env.FAKE_SECURITY_LOG;
const load = () => (existsSync(storePath) ? JSON.parse(readFileSync(storePath, "utf8")) : {});
const save = (items) => writeFileSync(storePath, JSON.stringify(items));

function run(argv) {
  const [command, ...rest] = argv;
  const flags = {};
  for (let index = 0; index < rest.length; index += 1) {
    const flag = rest[index];
    if (flag === "-U" || flag === "-w" && (rest[index + 1] === undefined || rest[index + 1].startsWith("-"))) flags[flag] = true;
    else flags[flag] = rest[++index];
  }
  const items = load();
  if (command === "find-generic-password") {
    const item = items[flags["-s"]];
    if (!item || (flags["-a"] && flags["-a"] !== item.account)) {
      process.stderr.write("security: SecKeychainSearchCopyNext: The specified item could not be found in the keychain.\n");
      return 44;
    }
    const data = Buffer.from(item.hex, "hex");
    if (flags["-w"] === true) {
      const printable = [...data].every((byte) => byte >= 0x20 && byte <= 0x7e);
      process.stdout.write(`${printable ? data.toString("utf8") : data.toString("hex")}\n`);
    } else {
      process.stdout.write(`keychain: "/Users/ada/Library/Keychains/login.keychain-db"\nclass: "genp"\nattributes:\n    "acct"<blob>="${item.account}"\n    "svce"<blob>="${flags["-s"]}"\n`);
    }
    return 0;
  }
  if (command === "add-generic-password") {
    if (process.env.FAKE_SECURITY_LOCKED) {
      process.stderr.write("security: SecKeychainItemCreateFromContent (<default>): User interaction is not allowed.\n");
      return 36;
    }
    if (items[flags["-s"]] && !flags["-U"]) {
      process.stderr.write("security: SecKeychainItemCreateFromContent: The specified item already exists in the keychain.\n");
      return 45;
    }
    const hex = flags["-X"] ?? Buffer.from(String(flags["-w"] ?? "")).toString("hex");
    items[flags["-s"]] = { account: flags["-a"], hex };
    save(items);
    return 0;
  }
  process.stderr.write(`fake security: unknown command ${command}\n`);
  return 1;
}

/** Splits a `security -i` line the way its shell does: words, double quotes. */
function words(line) {
  const out = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (const match of line.matchAll(pattern)) out.push(match[1] !== undefined ? match[1].replace(/\\(.)/g, "$1") : match[2]);
  return out;
}

const argv = process.argv.slice(2);
if (argv[0] === "-i") {
  const stdin = readFileSync(0, "utf8");
  appendFileSync(logPath, `${JSON.stringify({ argv, stdin })}\n`);
  // Like the real interactive mode, a failing command is reported on stderr, not in the exit code.
  for (const line of stdin.split("\n")) if (line.trim()) run(words(line));
  process.exit(0);
}
appendFileSync(logPath, `${JSON.stringify({ argv })}\n`);
process.exit(run(argv));
