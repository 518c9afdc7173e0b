/** Pulumi type tokens of the resources the program registers: the production table (ops/resourceTypes.ts), as `T`. */
export { RESOURCE_TYPES as T } from "../../ops/resourceTypes";
