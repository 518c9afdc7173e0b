/** `npm run tunnel`: the ssh line that reaches a production Portainer, which answers on the VPS's loopback only. */
import { tunnel } from "../../ops/commands/tunnel";
import { tunnelArgs } from "../../ops/hostCommands/tunnel";
import { fakeDeps, fakeIo, FakeStack, PROD_CONFIG } from "../support";

const VPS = {
  host: "203.0.113.10",
  user: "deploy",
  port: 2222,
  identityFile: "/home/op/.ssh/ems_deploy",
  knownHostsFile: "/home/op/.ssh/known_hosts",
};

test("the tunnel forwards this machine's loopback port to the VPS's 127.0.0.1, with the stack's key and known_hosts", () => {
  expect(tunnelArgs(VPS, 19000, 9000)).toEqual([
    "ssh",
    "-N",
    "-o",
    "ExitOnForwardFailure=yes",
    "-L",
    "127.0.0.1:19000:127.0.0.1:9000",
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "UserKnownHostsFile=/home/op/.ssh/known_hosts",
    "-o",
    "IdentitiesOnly=yes",
    "-i",
    "/home/op/.ssh/ems_deploy",
    "-p",
    "2222",
    "--",
    "deploy@203.0.113.10",
  ]);
});

test("only Portainer is reached by a tunnel; a stack on this machine needs none", async () => {
  const io = fakeIo();
  expect(await tunnel.main(["--stack", "prod", "--service", "postgres"], io, fakeDeps(new FakeStack("prod", {})))).toBe(
    2,
  );
  expect(io.stderr).toContain("--service postgres: only portainer is reached by a tunnel");

  const local = fakeIo();
  const stack = new FakeStack("prod", {
    config: { ...PROD_CONFIG, "ems-infra:portainer": JSON.stringify({ tunnelPort: 9443 }) },
  });
  expect(await tunnel.main(["--stack", "prod", "--service", "portainer"], local, fakeDeps(stack))).toBe(0);
  expect(local.stdout).toContain("Portainer answers on http://localhost:9443, no tunnel needed");
});
