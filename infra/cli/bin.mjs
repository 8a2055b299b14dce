#!/usr/bin/env node
// `npx deskbridge <command>`: runs the TypeScript CLI through tsx's loader (no build step).
import { register } from "tsx/esm/api";

register();
const { main } = await import(new URL("./main.ts", import.meta.url).href);
process.exitCode = await main(process.argv.slice(2));
