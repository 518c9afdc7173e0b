/** Pulumi type tokens of the resources the program registers: the production table (components/resourceTypes.ts), as `T`. */
export { RESOURCE_TYPES as T } from "../../components/resourceTypes";
