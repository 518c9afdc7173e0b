import { ResourceValidationPolicy } from "@pulumi/policy";
import { containerHardening } from "./policies/containerHardening";
import { dockerSocketFenced } from "./policies/dockerSocketFenced";
import { imagePinned } from "./policies/imagePinned";
import { noPlaintextCredentials } from "./policies/noPlaintextCredentials";
import { onlyTraefikPublishesWeb } from "./policies/onlyTraefikPublishesWeb";
import { postgresNotPublished } from "./policies/postgresNotPublished";
import { createProdDataProtectedPolicy, runtimeStackContext, StackContext } from "./policies/prodDataProtected";
import { routersUseTls } from "./policies/routersUseTls";

/**
 * Every policy of the pack, in report order. `context` tells prod-data-protected which stack it checks;
 * by default it is read from the Pulumi runtime (the real pack), evaluatePack passes the stack it is given.
 * (Kept apart from index.ts: importing index.ts starts the pack's gRPC server.)
 */
export function createPolicies(context: () => StackContext = runtimeStackContext): ResourceValidationPolicy[] {
  return [
    imagePinned,
    postgresNotPublished,
    onlyTraefikPublishesWeb,
    dockerSocketFenced,
    routersUseTls,
    containerHardening,
    noPlaintextCredentials,
    createProdDataProtectedPolicy(context),
  ];
}
