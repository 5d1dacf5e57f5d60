import type { Plugin } from "esbuild";

export function slimElectroDb(): Plugin;
declare const plugins: Plugin[];
export default plugins;
