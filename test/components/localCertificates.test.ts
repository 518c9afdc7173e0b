/** The LocalCertificates component alone: mkcert.sh run on this machine for the .local API hosts. */
import { LocalCertificates } from "../../components/localCertificates";
import { readScript } from "../../components/shell";
import { runComponents, T, unwrap } from "../support";

const CERTS = "/home/dev/Projects/Working/ems_system/servers/infra/certs";

test("runs mkcert.sh locally as `sh -s -- <certsDir> <domains...>`, re-run when the folder or domains change", async () => {
  const run = await runComponents(
    () => new LocalCertificates("local-certs", { certsDir: CERTS, domains: ["api.ems.local", "api.sms.local"] }),
  );
  const cmd = run.get(T.localCommand, "local-certs-mkcert");
  expect(cmd.inputs.create).toBe(`sh -s -- ${CERTS} api.ems.local api.sms.local`);
  expect(cmd.inputs.update).toBe(cmd.inputs.create);
  expect(cmd.inputs.interpreter).toEqual(["/bin/sh", "-c"]);
  expect(cmd.inputs.stdin).toBe(readScript("mkcert.sh"));
  expect(cmd.inputs.triggers).toEqual([CERTS, "api.ems.local", "api.sms.local"]);
  expect(run.ofType(T.remoteCommand)).toEqual([]);
  expect(await unwrap(run.result.certFile)).toBe(`${CERTS}/local.pem`);
  expect(await unwrap(run.result.keyFile)).toBe(`${CERTS}/local-key.pem`);
});

test("a certs folder with a space is passed as one word", async () => {
  const run = await runComponents(
    () => new LocalCertificates("local-certs", { certsDir: "/home/dev/my certs", domains: ["api.ems.local"] }),
  );
  expect(run.get(T.localCommand, "local-certs-mkcert").inputs.create).toBe(
    "sh -s -- '/home/dev/my certs' api.ems.local",
  );
});
