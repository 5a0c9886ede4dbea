import { describe, expect, it } from "vitest";
import { workspaceUser } from "./workspace-user.js";

const ROOT = { uid: 0, gid: 0 };
const ADA = { uid: 1000, gid: 1000 };

describe("workspaceUser (hole 13f: sbx run as root)", () => {
  it("runs a root-started sandbox on a root-owned project as 1000:1000 and says it cannot write there", () => {
    const user = workspaceUser(ROOT, { uid: 0, gid: 0, mode: 0o40755 }, "/srv/project");
    expect(user).toMatchObject({ uid: 1000, gid: 1000, writable: false });
    expect(user.note).toBe(
      "read-only for the sandbox user 1000:1000: /srv/project belongs to root (0:0, mode 755); run sbx as the project's owner, or give the sandbox user write access (chown/chmod)",
    );
  });

  it("runs a root-started sandbox on a user's project as that user, who can write it", () => {
    expect(workspaceUser(ROOT, { uid: 1234, gid: 1234, mode: 0o40755 }, "/home/bob/p")).toEqual({ uid: 1234, gid: 1234, writable: true });
  });

  it("keeps a normal user's own ids, and checks the bits that apply to them", () => {
    expect(workspaceUser(ADA, { uid: 1000, gid: 1000, mode: 0o40755 }, "/p")).toEqual({ uid: 1000, gid: 1000, writable: true });
    expect(workspaceUser(ADA, { uid: 1000, gid: 1000, mode: 0o40555 }, "/p").writable).toBe(false);
    expect(workspaceUser(ADA, { uid: 0, gid: 1000, mode: 0o40775 }, "/p").writable).toBe(true);
    expect(workspaceUser(ADA, { uid: 0, gid: 0, mode: 0o40777 }, "/p").writable).toBe(true);
    expect(workspaceUser(ADA, { uid: 0, gid: 0, mode: 0o40755 }, "/p").writable).toBe(false);
  });

  it("never picks root, even when every id in sight is root", () => {
    const user = workspaceUser(ROOT, { uid: 0, gid: 0, mode: 0o40777 }, "/p");
    expect([user.uid, user.gid, user.writable]).toEqual([1000, 1000, true]);
  });
});
