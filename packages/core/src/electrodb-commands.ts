import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactGetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";

/**
 * Where a Lambda bundle's ElectroDB finds the lib-dynamodb commands it constructs. ElectroDB
 * `require`s lib-dynamodb, and esbuild cannot tree-shake what a `require` reaches: the
 * aggregated clients, every command and its schema would ship (about 60 KB of each bundle).
 * So infra/esbuild-plugins.mjs hands it a module that reads them from here instead, imported
 * the ESM way. Unbundled (tests, the local stack) ElectroDB loads lib-dynamodb itself and this
 * is unused. The key is the contract with that plugin.
 */
export const ELECTRODB_COMMANDS_KEY = Symbol.for("conveyor.electrodb.lib-dynamodb");

/** Publishes the commands for the bundle's ElectroDB; called before any entity is built. */
export function provideElectroDbCommands() {
  (globalThis as Record<symbol, unknown>)[ELECTRODB_COMMANDS_KEY] ??= {
    BatchGetCommand,
    BatchWriteCommand,
    DeleteCommand,
    GetCommand,
    PutCommand,
    QueryCommand,
    ScanCommand,
    TransactGetCommand,
    TransactWriteCommand,
    UpdateCommand,
  };
}
