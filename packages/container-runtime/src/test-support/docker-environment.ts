import { execFileSync } from "node:child_process";
import { DockerRuntime } from "../docker-driver.js";

export type DockerTestEnvironment = { available: true; image: string } | { available: false; reason: string };

/**
 * Decides whether the Docker tests can run here. Without an engine they are skipped with the
 * reason — except in CI (`SBX_REQUIRE_DOCKER=1`), where a missing engine is a failure, never a
 * silent skip.
 */
export async function dockerTestEnvironment(): Promise<DockerTestEnvironment> {
  const environment = await probe();
  if (!environment.available && process.env.SBX_REQUIRE_DOCKER === "1") {
    throw new Error(`SBX_REQUIRE_DOCKER=1 but the Docker tests cannot run: ${environment.reason}`);
  }
  return environment;
}

async function probe(): Promise<DockerTestEnvironment> {
  const runtime = new DockerRuntime();
  try {
    await runtime.ping();
  } catch (error) {
    return { available: false, reason: `no Docker engine answers (${(error as Error).message})` };
  } finally {
    runtime.close();
  }
  const image = process.env.SBX_TEST_BASE_IMAGE ?? newestOfflineBase();
  if (!image) {
    return { available: false, reason: "no test base image: run `bash test-fixtures/offline-base/build.sh` or set SBX_TEST_BASE_IMAGE" };
  }
  return { available: true, image };
}

function newestOfflineBase(): string | undefined {
  try {
    const out = execFileSync("docker", ["image", "ls", "--filter", "reference=sbx-offline-base", "--format", "{{.Repository}}:{{.Tag}}"], {
      encoding: "utf8",
    });
    return out.split("\n").find((line) => line.trim() && !line.includes("<none>"));
  } catch {
    return undefined;
  }
}
