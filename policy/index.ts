// The ems-infra guardrails policy pack: `pulumi preview --policy-pack policy` (from the project root).
// Pulumi installs this folder's package.json dependencies itself on first use.
// Each policy lives in ./policies/<name>.ts; tests call them through ./evaluate.ts, never through this
// file (constructing a PolicyPack starts the pack's gRPC server).
import { PolicyPack } from "@pulumi/policy";
import { createPolicies } from "./catalog";

new PolicyPack("ems-infra-guardrails", {
  description:
    "Guardrails for the EMS System deployment: pinned images, no exposed Postgres, TLS-only routers, hardened containers, secret credentials, protected production data.",
  enforcementLevel: "mandatory",
  policies: createPolicies(),
});
