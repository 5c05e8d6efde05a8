import { expect } from "chai";
import { sharedLibraries } from "../../cli/image-build.ts";

describe("flotilla image build › sharedLibraries", () => {
  it("lists the libraries and the loader ldd names, and skips the vdso", () => {
    const ldd = [
      "\tlinux-vdso.so.1 (0x00007ffd)",
      "\tlibdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x00007f84)",
      "\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f85)",
      "\t/lib64/ld-linux-x86-64.so.2 (0x00007f86)",
      "\tlibmissing.so => not found",
    ].join("\n");
    expect(sharedLibraries(ldd)).to.deep.equal(["/lib/x86_64-linux-gnu/libdl.so.2", "/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib64/ld-linux-x86-64.so.2"]);
  });
});
