import { RuntimeError, type ContainerRuntime } from "@sbx/container-runtime";
import { describe, expect, it } from "vitest";
// The built module: the image assets (Dockerfile, entrypoint bundle) are found beside dist/.
import { ensureImage, planImage } from "../dist/sandbox-image.js";

describe("ensureImage", () => {
  it("says how to build the offline base when the base image cannot be pulled", async () => {
    const plan = planImage({ env: {}, baseImage: "registry.invalid/node:22-slim", uid: 1000, gid: 1000 });
    // An engine with no registry: the build fails pulling the base, as Docker words it.
    const runtime = {
      inspectImage: async () => undefined,
      buildImage: async () => {
        throw new RuntimeError("SBX_IMAGE_BUILD_FAILED", "pull access denied for registry.invalid/node, repository does not exist");
      },
    } as unknown as ContainerRuntime;
    const failure = await ensureImage(runtime, plan, () => {}).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: "SBX_BASE_IMAGE_UNAVAILABLE" });
    expect((failure as { hint: string }).hint).toMatch(/sbx up --base-image "\$\(bash \/.+\/test-fixtures\/offline-base\/build\.sh\)"/);
  });
});
