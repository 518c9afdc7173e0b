/**
 * What the release flow (deploy, rollback, rotate), the cut-over and the doctor ask of the Docker engine before
 * anything changes: its version as `docker version` prints it, whether ems-run runs on its architecture, and whether
 * the configured Traefik can talk to it (provider-facts.md B2). Pure; no migration code, so the deploy path does not
 * load the cut-over's.
 */
import * as semver from "semver";
import { TagVersion, traefikVersion } from "../components/imageRef";

export interface EngineVersion {
  /** `docker version --format '{{.Server.APIVersion}}'`, e.g. 1.52. */
  apiVersion: string;
  /** `{{.Server.Version}}`, e.g. 29.1.3. */
  version: string;
  /** `{{.Server.Arch}}`, e.g. amd64; absent when not asked for. */
  arch?: string;
}

export interface Verdict {
  ok: boolean;
  message: string;
}

/** The first Traefik releases that negotiate the Docker API (traefik/traefik#12256, #12262). */
const TRAEFIK_NEGOTIATES = { v2: "2.11.31", v3: "3.6.1" } as const;
/** The first Docker Engine major that refuses API 1.24 (it requires ≥ 1.44). */
const DOCKER_STRICT_MAJOR = 29;
const FIX = `set ems-infra:traefik.image to traefik:v${TRAEFIK_NEGOTIATES.v3} or later (or traefik:v${TRAEFIK_NEGOTIATES.v2}+ on v2)`;

/** `docker version --format '{{.Server.APIVersion}} {{.Server.Version}} {{.Server.Arch}}'` → its fields. */
export function parseEngineVersion(output: string): EngineVersion {
  const [apiVersion, version, arch] = output.trim().split(/\s+/);
  if (!apiVersion || !version || !/^\d+\.\d+$/.test(apiVersion))
    throw new Error(`cannot read the Docker engine version from ${JSON.stringify(output.trim())}`);
  return arch ? { apiVersion, version, arch } : { apiVersion, version };
}

/** The engine architectures ems-run (the API containers' launcher and probe) is built for. */
const EMS_RUN_ARCHES = ["amd64"] as const;

/** Refuses an engine whose architecture ems-run is not built for: every API container would fail to start. */
export function engineArchVerdict(engine: EngineVersion): Verdict {
  if (!engine.arch || (EMS_RUN_ARCHES as readonly string[]).includes(engine.arch)) {
    return {
      ok: true,
      message: `Docker Engine ${engine.version} runs on ${engine.arch ?? "an unreported architecture"}`,
    };
  }
  return {
    ok: false,
    message:
      `Docker Engine ${engine.version} runs on ${engine.arch}, and ems-run (components/probe, the API containers' ` +
      `launcher and health probe) is built for ${EMS_RUN_ARCHES.join(", ")} only: every API container would fail to start`,
  };
}

/** Whether this Traefik release pins Docker API 1.24 instead of negotiating it. */
function pinsOldDockerApi(version: TagVersion): boolean {
  if (version.major <= 1) return true;
  if (version.major === 2) return semver.lt(version.version, TRAEFIK_NEGOTIATES.v2);
  if (version.major === 3) return semver.lt(version.version, TRAEFIK_NEGOTIATES.v3);
  return false;
}

/** Refuses a Traefik that cannot talk to this engine; the message names both versions and the fix. */
export function traefikDockerVerdict(traefikImage: string, engine: EngineVersion): Verdict {
  const traefik = traefikVersion(traefikImage);
  const engineMajor = semver.coerce(engine.version)?.major;
  const engineText = `Docker Engine ${engine.version} (API ${engine.apiVersion})`;
  if (!traefik) {
    return {
      ok: false,
      message: `cannot tell the Traefik version from ${traefikImage}, so it is unknown whether it can talk to ${engineText}: ${FIX}`,
    };
  }
  if (engineMajor === undefined)
    return { ok: false, message: `cannot read the Docker Engine version "${engine.version}"` };
  if (pinsOldDockerApi(traefik) && engineMajor >= DOCKER_STRICT_MAJOR) {
    return {
      ok: false,
      message:
        `${traefikImage} (Traefik ${traefik.version}) pins Docker API 1.24, and ${engineText} requires API 1.44 or later: ` +
        `Traefik would start healthy and route nothing (traefik/traefik#12253). Fix: ${FIX}`,
    };
  }
  return { ok: true, message: `${traefikImage} can talk to ${engineText}` };
}
