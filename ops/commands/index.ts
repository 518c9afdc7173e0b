/** Every ops command, by its npm script name: each one a file of this folder built with `defineCommand`. */
import { backup } from "./backup";
import { deploy } from "./deploy";
import { doctor } from "./doctor";
import { down } from "./down";
import { drift } from "./drift";
import { exec } from "./exec";
import { logs } from "./logs";
import { migrate } from "./migrate";
import { restore } from "./restore";
import { rollback } from "./rollback";
import { rotate } from "./rotate";
import { status } from "./status";
import { switchPlatform } from "./switch-platform";
import { tunnel } from "./tunnel";

export const COMMANDS = [
  backup,
  deploy,
  doctor,
  down,
  drift,
  exec,
  logs,
  migrate,
  restore,
  rollback,
  rotate,
  status,
  switchPlatform,
  tunnel,
] as const;
