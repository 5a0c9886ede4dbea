import { describe, expect, it } from "vitest";
import { isSbxError, SbxError } from "./index.js";

class ExampleError extends SbxError<"SBX_EXAMPLE_A" | "SBX_EXAMPLE_B"> {
  override readonly name = "ExampleError";
}

describe("SbxError", () => {
  it("keeps the code, hint, cause and exit code a package gives it", () => {
    const cause = new Error("low level");
    const error = new ExampleError("SBX_EXAMPLE_A", "It broke.", { hint: "Do this.", cause, exitCode: 3 });
    expect(error).toBeInstanceOf(SbxError);
    expect(error).toMatchObject({ name: "ExampleError", code: "SBX_EXAMPLE_A", message: "It broke.", hint: "Do this.", exitCode: 3 });
    expect(error.cause).toBe(cause);
  });

  it("defaults to exit code 1 and no hint or cause", () => {
    const error = new SbxError("SBX_PLAIN", "Plain.");
    expect(error.exitCode).toBe(1);
    expect(error.hint).toBeUndefined();
    expect("cause" in error).toBe(false);
  });

  it("recognises any error shaped with an SBX_ code, and only those", () => {
    const foreign = Object.assign(new Error("from another copy"), { code: "SBX_OTHER" });
    expect(isSbxError(foreign)).toBe(true);
    expect(isSbxError(foreign, "SBX_OTHER")).toBe(true);
    expect(isSbxError(foreign, "SBX_EXAMPLE_A")).toBe(false);
    expect(isSbxError(Object.assign(new Error("errno"), { code: "ENOENT" }))).toBe(false);
    expect(isSbxError({ code: "SBX_NOT_AN_ERROR", message: "x" })).toBe(false);
  });
});
