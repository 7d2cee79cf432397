// Plain CommonJS with old syntax on purpose: it must run, and explain itself, on any Node.
"use strict";
var major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  process.stderr.write(
    "Sibyl needs Node.js 22 or newer (Hardhat 3 does); this is Node " +
      process.versions.node +
      ".\nInstall Node 22 (see .nvmrc; e.g. `nvm use`) and try again.\n",
  );
  process.exit(1);
}
