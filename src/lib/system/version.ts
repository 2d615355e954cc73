import pkg from "../../../package.json" with { type: "json" };

export const SQLBAK_VERSION: string = pkg.version;
