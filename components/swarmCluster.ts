import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HostConnection, sshCommand } from "./hostCommand";
import { readScript, shellQuote, shellWords } from "./shell";

/** One machine of the cluster, as config lists it. */
export interface SwarmClusterNode {
  /** Its address: SSH reaches it there and it advertises it to the swarm. */
  address: string;
  /** `manager` or `worker`. */
  role: "manager" | "worker";
  /** Node labels (placement of the pinned services). */
  labels: Record<string, string>;
  /** SSH connection to the node; absent runs on this machine (tests, a one-node swarm deployed locally). */
  connection?: HostConnection;
}

export interface SwarmClusterArgs {
  /** The nodes; the first manager initialises the swarm and runs the manager-side commands. */
  nodes: SwarmClusterNode[];
}

/** The swarm's management port on the managers. */
const SWARM_PORT = 2377;

/** `address:2377`, an IPv6 address in brackets. */
export function managerAddress(address: string): string {
  return `${address.includes(":") ? `[${address}]` : address}:${SWARM_PORT}`;
}

/** A swarm script from components/scripts/swarm fed on standard input, with its arguments. */
export function swarmScript(name: string): string {
  return readScript(`swarm/${name}`);
}

/** The standard input of join.sh: the tokens (tokens.sh's output) and the node's settings, then the script. */
export function joinInput(tokens: string, role: string, manager: string, advertise: string): string {
  return [
    tokens.trim(),
    `ROLE=${shellQuote(role)}`,
    `MANAGER_ADDR=${shellQuote(manager)}`,
    `ADVERTISE_ADDR=${shellQuote(advertise)}`,
    swarmScript("join.sh"),
  ].join("\n");
}

/** The label.sh arguments of a node: its id, role and labels as sorted KEY=VALUE words. */
export function labelArgs(nodeId: string, node: Pick<SwarmClusterNode, "role" | "labels">): string[] {
  return [
    nodeId,
    node.role,
    ...Object.keys(node.labels)
      .sort()
      .map((k) => `${k}=${node.labels[k]}`),
  ];
}

/**
 * The cluster itself, from config: the swarm initialised on the first manager (never again once it exists), every
 * other node joined over SSH with a join token kept secret, each node's role and labels set, and a node removed
 * from config drained (its tasks started elsewhere), left and removed, in that order.
 */
export class SwarmCluster extends pulumi.ComponentResource {
  /** Node ids by address. */
  public readonly nodeIds: Record<string, pulumi.Output<string>>;
  /** The resources after which every node is in the swarm with its labels (pinned services wait for them). */
  public readonly ready: pulumi.Resource[];

  constructor(name: string, args: SwarmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ems:infra:SwarmCluster", name, {}, opts);
    const first = args.nodes.find((n) => n.role === "manager");
    if (!first) throw new Error("SwarmCluster: no manager among the nodes");
    // A command on a node: the script on standard input, run there over SSH (or here without a connection).
    const run = (
      id: string,
      node: SwarmClusterNode,
      script: pulumi.Input<string>,
      argv: pulumi.Input<string[]>,
      extra: { delete?: { script: string; argv: pulumi.Input<string[]>; on: SwarmClusterNode }; secret?: boolean },
      dependsOn: pulumi.Resource[],
    ) => {
      // Create reads its script on standard input; delete gets it as `sh -c` text (its input is not the create's).
      const line = (target: SwarmClusterNode, words: pulumi.Input<string[]>, deleteScript?: string) =>
        pulumi.output(words).apply((w) => {
          const local = shellWords(deleteScript ? ["sh", "-c", deleteScript, "sh", ...w] : ["sh", "-s", "--", ...w]);
          return target.connection ? sshCommand(target.connection, local) : local;
        });
      const create = line(node, argv);
      return new command.local.Command(
        `${name}-${id}`,
        {
          create,
          update: create,
          stdin: extra.secret ? pulumi.secret(script) : script,
          ...(extra.delete
            ? { delete: line(extra.delete.on, extra.delete.argv, swarmScript(extra.delete.script)) }
            : {}),
          interpreter: ["/bin/sh", "-c"],
          // The join tokens are never printed in the engine's log, nor kept in plain text in the state.
          ...(extra.secret ? { logging: "none" } : {}),
        },
        {
          parent: this,
          dependsOn,
          ...(extra.secret ? { additionalSecretOutputs: ["stdout", "stdin"] } : {}),
        },
      );
    };

    const init = run("init", first, swarmScript("init.sh"), [first.address], {}, []);
    const tokens = run("tokens", first, swarmScript("tokens.sh"), [], { secret: true }, [init]);
    const firstId = init.stdout.apply((s) => s.trim());
    const nodeIds: Record<string, pulumi.Output<string>> = { [first.address]: firstId };
    const ready: pulumi.Resource[] = [];
    for (const node of args.nodes) {
      const key = node.address.replace(/[^A-Za-z0-9]/g, "-");
      let nodeId = firstId;
      let joined: pulumi.Resource[] = [init];
      if (node !== first) {
        // Deleted last: the entry of a node that left shows "down" until a manager removes it.
        const remove = run(
          `remove-${key}`,
          first,
          "true",
          [],
          {
            delete: { script: "remove.sh", argv: [node.address], on: first },
          },
          [init],
        );
        const join = run(
          `join-${key}`,
          node,
          pulumi.secret(
            tokens.stdout.apply((t) => joinInput(t, node.role, managerAddress(first.address), node.address)),
          ),
          [],
          { secret: true, delete: { script: "leave.sh", argv: [], on: node } },
          [tokens, remove],
        );
        nodeId = join.stdout.apply((s) => s.trim());
        joined = [join];
      }
      nodeIds[node.address] = nodeId;
      // Deleted first: the node is drained before it leaves.
      ready.push(
        run(
          `label-${key}`,
          first,
          swarmScript("label.sh"),
          nodeId.apply((id) => labelArgs(id, node)),
          { delete: { script: "drain.sh", argv: nodeId.apply((id) => [id]), on: first } },
          joined,
        ),
      );
    }
    this.nodeIds = nodeIds;
    this.ready = ready;
    this.registerOutputs({ nodeIds });
  }
}
