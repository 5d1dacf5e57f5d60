import type { Plugin } from "esbuild";

export function slimElectroDb(): Plugin;
export function initBarrels(): Plugin;
declare const plugins: Plugin[];
export default plugins;
