/**
 * A fake Docker engine: the Engine API's `/_ping`, `/version` and `/info` on a unix socket in a temp folder, with the
 * answers a test chooses. The real `docker` CLI talks to it (`docker -H unix://<socket> …`), so the pre-flight's
 * command lines and the CLI's own formatting are exercised as on a real host, without that host's engine.
 */
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";

export interface FakeEngineAnswers {
  /** `ApiVersion` of `/version` and the `API-Version` header, e.g. 1.41. */
  apiVersion: string;
  /** `Version`, e.g. 20.10.24. */
  version: string;
  arch?: string;
  /** `/info`'s SwapLimit. */
  swapLimit: boolean;
}

export interface FakeEngine {
  /** `unix:///…/docker.sock`, for `docker -H` (`ems-infra:docker.host`). */
  endpoint: string;
  /** The requests received, `METHOD /path`. */
  requests: string[];
  close(): Promise<void>;
}

export async function startFakeEngine(answers: FakeEngineAnswers): Promise<FakeEngine> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ems-fake-engine-"));
  const socket = path.join(dir, "docker.sock");
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.setHeader("Api-Version", answers.apiVersion);
    const url = req.url ?? "";
    if (url.endsWith("/_ping")) {
      res.setHeader("Content-Type", "text/plain");
      res.end("OK");
      return;
    }
    res.setHeader("Content-Type", "application/json");
    if (/\/version$/.test(url)) {
      res.end(
        JSON.stringify({
          Version: answers.version,
          ApiVersion: answers.apiVersion,
          MinAPIVersion: "1.12",
          Arch: answers.arch ?? "amd64",
          Os: "linux",
        }),
      );
    } else if (/\/info$/.test(url)) {
      res.end(JSON.stringify({ ServerVersion: answers.version, SwapLimit: answers.swapLimit, OSType: "linux" }));
    } else {
      res.statusCode = 404;
      res.end(JSON.stringify({ message: `the fake engine does not answer ${url}` }));
    }
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    endpoint: `unix://${socket}`,
    requests,
    close: () =>
      new Promise<void>((resolve) =>
        server.close(() => {
          fs.rmSync(dir, { recursive: true, force: true });
          resolve();
        }),
      ),
  };
}
