import {
  EMS_RUN_PATH,
  emsRunBase64,
  EMS_RUN_BINARY,
  probeHealthcheckTests,
  SECRETS_ENV_PATH,
  secretsEnvFile,
} from "../../components/probe";
import * as fs from "fs";

describe("secretsEnvFile", () => {
  test("one NAME=value line per variable, sorted, values kept as they are", () => {
    expect(secretsEnvFile({ JWT_KEY: "a=b c", API_KEY: "k", DB_PASS: "" })).toBe(
      "API_KEY=k\nDB_PASS=\nJWT_KEY=a=b c\n",
    );
  });

  test.each(["db_pass", "1KEY", "A-B", "", "A B"])("refuses the name %j, naming it", (name) => {
    expect(() => secretsEnvFile({ [name]: "s3cr3t-value" })).toThrow(JSON.stringify(name));
  });

  test.each(["Zq9x\nWv7", "Zq9x\rWv7", "Zq9x\0Wv7"])(
    "refuses a value with %j, naming the variable and never the value",
    (value) => {
      let message = "";
      try {
        secretsEnvFile({ API_KEY: "ok", DB_PASS: value });
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toContain("DB_PASS");
      expect(message).not.toContain("Zq9x");
      expect(message).not.toContain("Wv7");
    },
  );
});

describe("probe wiring", () => {
  test("the paths the program uploads to", () => {
    expect(EMS_RUN_PATH).toBe("/run/ems/ems-run");
    expect(SECRETS_ENV_PATH).toBe("/run/ems/secrets.env");
  });

  test("emsRunBase64 is the committed binary", () => {
    expect(Buffer.from(emsRunBase64(), "base64").equals(fs.readFileSync(EMS_RUN_BINARY))).toBe(true);
  });

  test("the exec-form healthcheck runs ems-run --probe on the service's port and health path", () => {
    expect(probeHealthcheckTests(8181, "/api/v1/health")).toEqual([
      "CMD",
      "/run/ems/ems-run",
      "--probe",
      "8181",
      "/api/v1/health",
      "--accept-rate-limited",
    ]);
    expect(() => probeHealthcheckTests(0, "/api/v1/health")).toThrow("1-65535");
    expect(() => probeHealthcheckTests(8080, "api/v1/health")).toThrow("must start with /");
  });
});
